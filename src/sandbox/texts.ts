// Message texts that look like production traffic and break naive parsers: Cyrillic,
// Ukrainian and Kazakh letters, commas, quotes, newlines, emoji, and multi-part lengths.

export const SMS_TEXTS: readonly string[] = [
  'Ваш код подтверждения: 4821. Никому не сообщайте его.',
  'Заказ №18345 передан в доставку, курьер позвонит за час.',
  'Здравствуйте, Анна! Запись к врачу на 14:30, кабинет 212.',
  'Скидка 20% на всё, только сегодня 🎉 Подробнее: https://smsc.ru/l/aB3dE',
  'Оплата 1 250,00 ₽ принята, спасибо!',
  'Your verification code is 9932',
  'Ваш заказ "Ромашка, букет" готов к выдаче.\nПункт выдачи: ул. Ленина, 5',
  'Код: 5512',
  'Нагадуємо: оплата за послуги до 25 числа. Дякуємо, що ви з нами!',
  'Сіздің тапсырысыңыз қабылданды. Рақмет! Ақпарат: 8 800 080 0000',
  'Баланс: 312,40 руб. Пополните счёт, чтобы не пропустить звонки 📞',
  'Уважаемый клиент, "ООО Ромашка" сообщает: с 1 числа меняется график работы, ' +
    'пн–пт с 9:00 до 20:00, сб с 10:00 до 16:00, вс — выходной. Приносим извинения за неудобства; ' +
    'по вопросам звоните 8 (800) 555-35-35 или пишите в чат поддержки 💬',
  'Reminder: your appointment, "Dental care", is tomorrow at 10:00.\nReply YES to confirm, NO to cancel.',
  'Пароль для входа: K7#p,9"q — действует 5 минут',
  'Статус доставки: в пути 🚚, ожидаемая дата — 12.07',
];

export const EMAIL_TEXTS: readonly string[] = [
  'Счёт №2041 за октябрь. Сумма к оплате: 4 800,00 ₽',
  'Подтвердите адрес электронной почты, перейдя по ссылке в письме.',
  'Ежемесячный отчёт, "Сводка", во вложении.',
];

export const REPLY_TEXTS: readonly string[] = [
  'Да',
  'Нет, спасибо',
  'YES',
  'Перезвоните мне, пожалуйста',
  'Стоп',
  'Дякую!',
  'Рақмет 🙏',
  'А можно перенести на 15:00, "после обеда"?',
  'ok,\nспасибо',
];

export const SENDERS: readonly string[] = ['SMSC.RU', 'Romashka', 'Clinic', 'MyShop', 'BankInfo'];

const GSM7 = /^[A-Za-z0-9 \r\n@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!"#¤%&'()*+,\-./:;<=>?¡ÄÖÑÜ§¿äöñüà^{}\\[~\]|€]*$/;

/** Number of SMS parts a text takes: 160/153 GSM-7 characters, or 70/67 UCS-2 units. */
export function smsParts(text: string): number {
  const gsm = GSM7.test(text);
  const [single, multi] = gsm ? [160, 153] : [70, 67];
  // UTF-16 units: an emoji counts twice, as in UCS-2.
  return text.length <= single ? 1 : Math.ceil(text.length / multi);
}
