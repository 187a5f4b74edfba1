import ArgumentParser
import ClaiflowConfiguration

extension ConfigurationSetting {
    /// The flag's help: the setting's help, its default and its environment variable.
    var argumentHelp: ArgumentHelp {
        var text = help
        if text.hasSuffix(".") { text.removeLast() }
        let note = documentedDefault == "required" ? "required" : "default: \(documentedDefault)"
        return ArgumentHelp("\(text) (\(note); \(environmentName)).")
    }
}
