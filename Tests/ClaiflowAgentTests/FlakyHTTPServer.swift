import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback HTTP server on raw sockets that misbehaves on purpose: `/drop` closes the first
/// two connections without answering, `/500` answers 500 twice; both then answer 200 with
/// `{"calls": n}`. Each path counts its own calls.
final class FlakyHTTPServer: Sendable {
    let port: Int
    private let listener: Int32
    private let counts = Mutex<[String: Int]>([:])

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        guard listener >= 0 else { throw POSIXError(.EMFILE) }
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        let chosen = Int(UInt16(bigEndian: address.sin_port))
        port = chosen
        Thread.detachNewThread { [self] in serve() }
    }

    /// How many requests `path` received.
    func calls(_ path: String) -> Int { counts.withLock { $0[path] ?? 0 } }

    /// Stops accepting connections.
    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            var request = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.containsHeaderEnd {
                let n = read(connection, &buffer, buffer.count)
                guard n > 0 else { break }
                request += buffer[0..<n]
            }
            let line = String(decoding: request.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
            let path = line.count > 1 ? String(line[1]) : "/"
            let n = counts.withLock { counts in
                counts[path, default: 0] += 1
                return counts[path] ?? 0
            }
            var status = 200
            switch path {
            case "/drop" where n <= 2:
                close(connection)
                continue
            case "/500" where n <= 2:
                status = 500
            default:
                break
            }
            let body = #"{"calls":\#(n)}"#
            let reply =
                "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Internal Server Error")\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            let bytes = Array(reply.utf8)
            _ = bytes.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            close(connection)
        }
    }
}

extension [UInt8] {
    fileprivate var containsHeaderEnd: Bool {
        count >= 4
            && indices.dropLast(3).contains { self[$0] == 13 && self[$0 + 1] == 10 && self[$0 + 2] == 13 && self[$0 + 3] == 10 }
    }
}
