//! The field labels of text exports, in the languages they were seen in, and the fixed
//! field orders that let an export be read by position when its labels are unknown.
//!
//! Sources of the spellings: English from `wevtutil` output and Event Viewer; German,
//! French, Swedish, Dutch, Russian, Hungarian, Turkish, Polish and Japanese from
//! Microsoft's localised copies of the seed article ("Troubleshoot Azure VM RDP connection
//! issues by Event ID", MicrosoftDocs `azure-docs.<lang>` repositories) and other localised
//! Microsoft troubleshooting pages; German also from a real Event Viewer copy (SharePoint
//! health event, "Ebene: Fehler", "Benutzer: NETZWERKDIENST"); Japanese `ログの名前` and
//! `タスクのカテゴリ` and the Chinese (zh-CN) labels from real Event Viewer copies published
//! on GitHub (Japanese support blogs' Application and System events, Chinese copies of
//! Application Error 1000, an Exchange event and Security 4688); Traditional Chinese
//! (zh-TW) and Korean from real Event Viewer copies (those `tests/fixtures/code-pages/`
//! names); Spanish from Microsoft's
//! Spanish copy of an event in a troubleshooting article (TWinUI 5960, MicrosoftDocs
//! es-es), not from a real export. A label not listed here is still read, by its position.

/// A field of the text layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Field {
    LogName,
    Source,
    Date,
    EventId,
    Task,
    Level,
    Opcode,
    Keywords,
    User,
    UserName,
    Computer,
    Description,
    /// Event Viewer's copy ends with "Event Xml:" and the event's XML.
    EventXml,
}

/// `wevtutil qe /f:text`'s fixed field order.
pub(crate) const WEVTUTIL_ORDER: [Field; 12] = [
    Field::LogName,
    Field::Source,
    Field::Date,
    Field::EventId,
    Field::Task,
    Field::Level,
    Field::Opcode,
    Field::Keywords,
    Field::User,
    Field::UserName,
    Field::Computer,
    Field::Description,
];

/// Event Viewer's "Copy details as text" (and the article's) field order.
pub(crate) const EVENT_VIEWER_ORDER: [Field; 10] = [
    Field::LogName,
    Field::Source,
    Field::Date,
    Field::EventId,
    Field::Task,
    Field::Level,
    Field::Keywords,
    Field::User,
    Field::Computer,
    Field::Description,
];

/// Lower-case, straight apostrophes, single spaces, no trailing colon.
pub(crate) fn normalise_label(label: &str) -> String {
    let mut s = String::with_capacity(label.len());
    for word in label.trim().trim_end_matches(':').split_whitespace() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(word);
    }
    s.to_lowercase().replace(['’', '‘', '`'], "'")
}

/// The field a label names, when it is one of the known spellings.
pub(crate) fn field_for_label(label: &str) -> Option<Field> {
    let l = normalise_label(label);
    let field = match l.as_str() {
        // English
        "log name" => Field::LogName,
        "source" => Field::Source,
        "date" => Field::Date,
        "event id" => Field::EventId,
        "task" | "task category" => Field::Task,
        "level" => Field::Level,
        "opcode" => Field::Opcode,
        "keyword" | "keywords" => Field::Keywords,
        "user" => Field::User,
        "user name" => Field::UserName,
        "computer" => Field::Computer,
        "description" => Field::Description,
        "event xml" => Field::EventXml,
        // German
        "protokollname" => Field::LogName,
        "quelle" => Field::Source,
        "datum" => Field::Date,
        "ereignis-id" => Field::EventId,
        "aufgabenkategorie" | "taskkategorie" => Field::Task,
        "ebene" | "stufe" => Field::Level,
        "schlüsselwörter" => Field::Keywords,
        "benutzer" => Field::User,
        "beschreibung" => Field::Description,
        // French
        "nom du journal" => Field::LogName,
        "id d'événement" | "id de l'événement" => Field::EventId,
        "catégorie de tâche" => Field::Task,
        "niveau" => Field::Level,
        "mots clés" => Field::Keywords,
        "utilisateur" => Field::User,
        "ordinateur" => Field::Computer,
        // Swedish
        "loggnamn" => Field::LogName,
        "källa" => Field::Source,
        "händelse-id" => Field::EventId,
        "uppgiftskategori" | "aktivitetskategori" => Field::Task,
        "nivå" => Field::Level,
        "nyckelord" => Field::Keywords,
        "användare" => Field::User,
        "dator" => Field::Computer,
        "beskrivning" => Field::Description,
        // Dutch
        "logboeknaam" => Field::LogName,
        "bron" => Field::Source,
        "gebeurtenis-id" => Field::EventId,
        "taakcategorie" => Field::Task,
        "trefwoorden" => Field::Keywords,
        "gebruiker" => Field::User,
        "beschrijving" => Field::Description,
        // Russian
        "имя журнала" => Field::LogName,
        "источник" => Field::Source,
        "дата" => Field::Date,
        "идентификатор события" => Field::EventId,
        "категория задач" => Field::Task,
        "уровень" => Field::Level,
        "ключевые слова" => Field::Keywords,
        "пользователь" => Field::User,
        "компьютер" => Field::Computer,
        "описание" => Field::Description,
        // Hungarian
        "napló neve" => Field::LogName,
        "forrás" => Field::Source,
        "dátum" => Field::Date,
        "eseményazonosító" => Field::EventId,
        "feladat kategóriája" => Field::Task,
        "szint" => Field::Level,
        "kulcsszavak" => Field::Keywords,
        "felhasználó" => Field::User,
        "számítógép" => Field::Computer,
        "leírás" => Field::Description,
        // Turkish
        "günlük adı" => Field::LogName,
        "kaynak" => Field::Source,
        "tarih" => Field::Date,
        "olay kimliği" => Field::EventId,
        "görev kategorisi" => Field::Task,
        "düzeyi" => Field::Level,
        "anahtar sözcükler" => Field::Keywords,
        "kullanıcı" => Field::User,
        "bilgisayar" => Field::Computer,
        "açıklama" => Field::Description,
        // Polish
        "nazwa dziennika" => Field::LogName,
        "źródło" => Field::Source,
        "data" => Field::Date,
        "identyfikator zdarzenia" => Field::EventId,
        "kategoria zadania" => Field::Task,
        "poziom" => Field::Level,
        "słowa kluczowe" => Field::Keywords,
        "użytkownik" => Field::User,
        "komputer" => Field::Computer,
        "opis" => Field::Description,
        // Japanese
        "ログ名" => Field::LogName,
        "ソース" => Field::Source,
        "日付" => Field::Date,
        "イベント id" => Field::EventId,
        "タスク カテゴリ" => Field::Task,
        "レベル" => Field::Level,
        "キーワード" => Field::Keywords,
        "ユーザー" => Field::User,
        "コンピューター" => Field::Computer,
        "説明" => Field::Description,
        "ログの名前" => Field::LogName,
        "タスクのカテゴリ" => Field::Task,
        "イベント xml" => Field::EventXml,
        // Chinese (zh-CN)
        "日志名称" => Field::LogName,
        "来源" => Field::Source,
        "日期" => Field::Date,
        "事件 id" => Field::EventId,
        "任务类别" => Field::Task,
        "级别" => Field::Level,
        "关键字" => Field::Keywords,
        "用户" => Field::User,
        "计算机" => Field::Computer,
        "描述" => Field::Description,
        "事件 xml" => Field::EventXml,
        // Chinese (zh-TW)
        "記錄檔名稱" => Field::LogName,
        "來源" => Field::Source,
        "事件識別碼" => Field::EventId,
        "層級" => Field::Level,
        "關鍵字" => Field::Keywords,
        "使用者" => Field::User,
        "電腦" => Field::Computer,
        // Korean
        "로그 이름" => Field::LogName,
        "원본" => Field::Source,
        "날짜" => Field::Date,
        "이벤트 id" => Field::EventId,
        "수준" => Field::Level,
        "키워드" => Field::Keywords,
        "사용자" => Field::User,
        "컴퓨터" => Field::Computer,
        "설명" => Field::Description,
        // Spanish
        "nombre de registro" => Field::LogName,
        "origen" => Field::Source,
        "fecha" => Field::Date,
        "id. de evento" => Field::EventId,
        "categoría de tarea" => Field::Task,
        "nivel" => Field::Level,
        "palabras clave" => Field::Keywords,
        "descripción" => Field::Description,
        _ => return None,
    };
    Some(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_match_across_spacing_case_and_apostrophes() {
        assert_eq!(field_for_label("Event ID"), Some(Field::EventId));
        assert_eq!(field_for_label("ID d’événement "), Some(Field::EventId));
        assert_eq!(field_for_label("Nom du journal :"), Some(Field::LogName));
        assert_eq!(field_for_label("Ereignis-ID"), Some(Field::EventId));
        assert_eq!(field_for_label("Task  Category"), Some(Field::Task));
        assert_eq!(field_for_label("日志名称:"), Some(Field::LogName));
        assert_eq!(field_for_label("事件 ID"), Some(Field::EventId));
        assert_eq!(field_for_label("ログの名前"), Some(Field::LogName));
        assert_eq!(field_for_label("イベント XML:"), Some(Field::EventXml));
        assert_eq!(field_for_label("ID. de evento"), Some(Field::EventId));
        assert_eq!(field_for_label("事件識別碼:"), Some(Field::EventId));
        assert_eq!(field_for_label("이벤트 ID:"), Some(Field::EventId));
        assert_eq!(field_for_label("로그 이름"), Some(Field::LogName));
        assert_eq!(field_for_label("Nonsense"), None);
    }
}
