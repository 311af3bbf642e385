// SMSC's code lists from smsc-api.md: message statuses, delivery errors, message formats.
// The emulator answers with them and the warehouse keeps them as lookup tables.

export interface StatusCode {
  readonly code: number;
  readonly name: string;
  /** The name the service gives in `status_name` (Russian, as SMSC answers). */
  readonly nameRu: string;
  readonly isFinal: boolean;
}

export const STATUS_CODES: readonly StatusCode[] = [
  { code: -3, name: 'message not found', nameRu: 'Сообщение не найдено', isFinal: true },
  { code: -2, name: 'stopped', nameRu: 'Остановлено', isFinal: true },
  { code: -1, name: 'waiting to be sent', nameRu: 'Ожидает отправки', isFinal: false },
  { code: 0, name: 'passed to the operator', nameRu: 'Передано оператору', isFinal: false },
  { code: 1, name: 'delivered', nameRu: 'Доставлено', isFinal: true },
  { code: 2, name: 'read', nameRu: 'Прочитано', isFinal: true },
  { code: 3, name: 'expired', nameRu: 'Просрочено', isFinal: true },
  { code: 4, name: 'link clicked', nameRu: 'Нажата ссылка', isFinal: true },
  { code: 20, name: 'impossible to deliver', nameRu: 'Невозможно доставить', isFinal: true },
  { code: 22, name: 'wrong number', nameRu: 'Неверный номер', isFinal: true },
  { code: 23, name: 'prohibited', nameRu: 'Запрещено', isFinal: true },
  { code: 24, name: 'insufficient funds', nameRu: 'Недостаточно средств', isFinal: true },
  { code: 25, name: 'unavailable number', nameRu: 'Недоступный номер', isFinal: true },
];

const statusByCode = new Map(STATUS_CODES.map((s) => [s.code, s]));

export function statusCode(code: number): StatusCode | undefined {
  return statusByCode.get(code);
}

/** Unknown status codes are treated as not final, so the status refresh keeps watching them. */
export function isFinalStatus(code: number): boolean {
  return statusByCode.get(code)?.isFinal ?? false;
}

export const DELIVERY_ERRORS: readonly { readonly code: number; readonly name: string }[] = [
  { code: 0, name: 'no error' },
  { code: 1, name: 'subscriber does not exist' },
  { code: 6, name: 'not in network' },
  { code: 11, name: 'cannot receive SMS' },
  { code: 12, name: 'handset error' },
  { code: 13, name: 'blocked' },
  { code: 21, name: 'no SMS support' },
  { code: 200, name: 'virtual (test-mode) send' },
  { code: 220, name: 'queue overflow' },
  { code: 240, name: 'busy' },
  { code: 241, name: 'conversion error' },
  { code: 242, name: 'answering machine' },
  { code: 243, name: 'no contract' },
  { code: 244, name: 'mailings forbidden' },
  { code: 245, name: 'status not received' },
  { code: 246, name: 'time restriction' },
  { code: 247, name: 'message limit' },
  { code: 248, name: 'no route' },
  { code: 249, name: 'bad number format' },
  { code: 250, name: 'number forbidden by settings' },
  { code: 251, name: 'per-number limit' },
  { code: 252, name: 'number forbidden' },
  { code: 253, name: 'spam filter' },
  { code: 254, name: 'unregistered sender id' },
  { code: 255, name: 'rejected by the operator' },
];

export const MESSAGE_FORMATS: readonly { readonly code: number; readonly name: string }[] = [
  { code: 0, name: 'sms' },
  { code: 1, name: 'flash' },
  { code: 2, name: 'push' },
  { code: 3, name: 'hlr' },
  { code: 4, name: 'bin' },
  { code: 5, name: 'bin-hex' },
  { code: 6, name: 'ping' },
  { code: 7, name: 'mms' },
  { code: 8, name: 'e-mail' },
  { code: 9, name: 'voice call' },
  { code: 10, name: 'viber' },
  { code: 11, name: 'social' },
];

/** `format` of e-mail messages: history rows with it go to channel 'email'. */
export const EMAIL_FORMAT = 8;
