import Configuration
import Synchronization

/// Keeps the last access event of a `ConfigReader`, whose provider results tell a
/// ``SettingsReader`` which source answered a lookup.
final class AccessRecorder: AccessReporter {
    private let event = Mutex<AccessEvent?>(nil)

    /// The event of the last lookup.
    var lastEvent: AccessEvent? { event.withLock { $0 } }

    /// Records an event.
    func report(_ event: AccessEvent) {
        self.event.withLock { $0 = event }
    }
}
