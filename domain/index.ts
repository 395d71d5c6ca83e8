export * from './money';
export * from './payment.commands';
export * from './payment.events';
export * from './payment.state';
export * from './payment.decide';
export * from './payment.view';
export * from './card-number';
