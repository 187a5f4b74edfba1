import Configuration
import Synchronization

/// Keeps the last access event of each key read through a `ConfigReader`; the event's provider
/// results tell a ``SettingsReader`` which source answered the lookup.
final class AccessRecorder: AccessReporter {
    private let events = Mutex<[AbsoluteConfigKey: AccessEvent]>([:])

    /// The event of the last lookup of `key`.
    func lastEvent(of key: AbsoluteConfigKey) -> AccessEvent? { events.withLock { $0[key] } }

    /// Records an event.
    func report(_ event: AccessEvent) {
        events.withLock { $0[event.metadata.key] = event }
    }
}
