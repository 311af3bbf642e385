// The emulator's numbering plan: which operator a number belongs to, as SMSC reports it
// (names in Russian, as the real service answers), plus tariff zones.

export interface Operator {
  readonly prefix: string;
  readonly country: string;
  readonly operator: string;
  readonly region: string;
  readonly mcc: string;
  readonly mnc: string;
  readonly tz: number;
  /** Tariff zone of the emulator's price list. */
  readonly zone: number;
}

export const OPERATORS: readonly Operator[] = [
  { prefix: '7916', country: 'Россия', operator: 'МТС', region: 'Москва', mcc: '250', mnc: '01', tz: 3, zone: 1 },
  { prefix: '7903', country: 'Россия', operator: 'Билайн', region: 'Москва', mcc: '250', mnc: '99', tz: 3, zone: 1 },
  { prefix: '7926', country: 'Россия', operator: 'МегаФон', region: 'Москва', mcc: '250', mnc: '02', tz: 3, zone: 1 },
  { prefix: '7952', country: 'Россия', operator: 'Tele2', region: 'Санкт-Петербург', mcc: '250', mnc: '20', tz: 3, zone: 1 },
  { prefix: '7913', country: 'Россия', operator: 'МТС', region: 'Новосибирская область', mcc: '250', mnc: '01', tz: 7, zone: 1 },
  { prefix: '38050', country: 'Украина', operator: 'Vodafone', region: 'Украина', mcc: '255', mnc: '01', tz: 2, zone: 2 },
  { prefix: '38067', country: 'Украина', operator: 'Київстар', region: 'Украина', mcc: '255', mnc: '03', tz: 2, zone: 2 },
  { prefix: '38063', country: 'Украина', operator: 'lifecell', region: 'Украина', mcc: '255', mnc: '06', tz: 2, zone: 2 },
  { prefix: '7701', country: 'Казахстан', operator: 'Kcell', region: 'Алматы', mcc: '401', mnc: '02', tz: 5, zone: 3 },
  { prefix: '7705', country: 'Казахстан', operator: 'Beeline KZ', region: 'Астана', mcc: '401', mnc: '01', tz: 5, zone: 3 },
  { prefix: '7707', country: 'Казахстан', operator: 'Tele2 KZ', region: 'Шымкент', mcc: '401', mnc: '77', tz: 5, zone: 3 },
];

/**
 * Prefixes of numbers the emulator's operator base does not know (virtual operators, fresh
 * ranges): their history rows carry an empty `mccmnc` and `get_operator` answers error 3.
 */
export const UNKNOWN_PREFIXES = ['7999', '79400'] as const;

export const ZONES = [
  { zone: 1, name: 'Россия' },
  { zone: 2, name: 'Украина' },
  { zone: 3, name: 'Казахстан' },
  { zone: 4, name: 'Весь мир' },
] as const;

/** The operator of a number, or undefined when the number is not in the base. */
export function lookupOperator(phone: string): Operator | undefined {
  const digits = phone.replace(/\D/g, '');
  let best: Operator | undefined;
  for (const op of OPERATORS) {
    if (digits.startsWith(op.prefix) && (!best || op.prefix.length > best.prefix.length)) best = op;
  }
  if (!best || digits.length < best.prefix.length + 7) return undefined;
  return best;
}
