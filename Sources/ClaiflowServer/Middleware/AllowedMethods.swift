import Synchronization

/// The methods each route path serves, so that a known path called with another method answers
/// 405 with an `Allow` header instead of 404.
final class AllowedMethods: Sendable {
    private let table = Mutex<[(segments: [Substring], methods: Set<String>)]>([])

    /// Loads the router's routes, `METHOD /path/{param}` each.
    func load(_ routes: [String]) {
        var byPath: [String: Set<String>] = [:]
        for route in routes {
            let parts = route.split(separator: " ", maxSplits: 1)
            guard parts.count == 2 else { continue }
            byPath[String(parts[1]), default: []].insert(String(parts[0]))
        }
        table.withLock { t in
            t = byPath.map { (path, methods) in (path.split(separator: "/"), methods) }
        }
    }

    /// The methods served on `path` (empty when no route has this path); `{param}` segments match
    /// any one segment.
    func methods(for path: String) -> Set<String> {
        let segments = path.split(separator: "/")
        return table.withLock { t in
            t.reduce(into: Set<String>()) { found, route in
                guard route.segments.count == segments.count else { return }
                for (pattern, segment) in zip(route.segments, segments)
                where !(pattern.hasPrefix("{") && pattern.hasSuffix("}")) && pattern != segment {
                    return
                }
                found.formUnion(route.methods)
            }
        }
    }
}
