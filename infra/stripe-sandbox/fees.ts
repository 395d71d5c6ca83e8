/**
 * US card pricing, 2.9% + 30 minor units, rounded half up to the nearest minor unit. Stripe does not
 * document test-mode fees; this rule reproduces its sample balance transactions (400 -> 42, 500 -> 45,
 * 2000 -> 88). Integer arithmetic only: amount * 29 / 1000 is the 2.9%.
 */
export function stripeFee(amount: number): number {
  return Math.floor((amount * 29 + 500) / 1000) + 30;
}
