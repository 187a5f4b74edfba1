import ClaiflowConfiguration
import Foundation

/// Checks a Markdown configuration table (`| flag | environment | file key | default | meaning |`)
/// against a command's settings.
public enum SettingsTableCheck {
    /// What the table gets wrong about `Setting`: a setting without a row, a row whose environment
    /// variable, file key or default differs from the setting's, a row for a flag that is no
    /// setting (other than `--config`). Empty when the table matches.
    public static func problems<Setting: ConfigurationSetting>(_ type: Setting.Type, markdown: String) -> [String] {
        var rows: [String: [String]] = [:]
        for line in markdown.split(separator: "\n") where line.hasPrefix("| `--") {
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst()
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard let flag = cells.first else { continue }
            rows[unquoted(flag)] = cells.map(unquoted)
        }
        var problems: [String] = []
        for setting in Setting.allCases {
            guard let cells = rows[setting.flag] else {
                problems.append("no row for \(setting.flag)")
                continue
            }
            if cells.count < 4 || cells[1] != setting.environmentName || cells[2] != setting.key {
                problems.append("the row of \(setting.flag) should name \(setting.environmentName) and \(setting.key): \(cells)")
            } else if !cells[3].contains(setting.documentedDefault) {
                problems.append(
                    "the row of \(setting.flag) should show the default \"\(setting.documentedDefault)\", shows \"\(cells[3])\"")
            }
        }
        let flags = Set(Setting.allCases.map(\.flag) + [ConfigurationSources.configFlag])
        for flag in rows.keys.sorted() where !flags.contains(flag) {
            problems.append("a row for \(flag), which is no setting")
        }
        return problems
    }

    /// A cell without its code quotes.
    private static func unquoted(_ cell: String) -> String { cell.replacingOccurrences(of: "`", with: "") }
}
