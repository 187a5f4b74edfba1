import ClaiflowAgentCommands
import ClaiflowCore
import Foundation
import Hummingbird
import Synchronization
import Testing

/// A small HTTP server for `http.request`.
@Sendable func httpTestHandler(_ request: Request) async throws -> Response {
    switch request.uri.path {
    case "/json":
        return jsonResponse(.ok, .object(["hello": .string("world"), "n": .integer(3)]), headers: [("X-Test", "yes")])
    case "/text":
        return textResponse(.ok, "plain text")
    case "/broken-json":
        return textResponse(.ok, "{not json", contentType: "application/json")
    case "/echo":
        let body = try await request.body.collect(upTo: 1 << 20)
        var headers: [String: JSONValue] = [:]
        for field in request.headers { headers[field.name.canonicalName] = .string(field.value) }
        return jsonResponse(
            .ok,
            .object([
                "method": .string(request.method.rawValue), "headers": .object(headers),
                "body": .string(String(buffer: body)),
            ]))
    case "/missing":
        return jsonResponse(.notFound, .object(["error": .string("no such thing")]))
    case "/fail":
        return textResponse(.internalServerError, "boom")
    case "/slow":
        try await Task.sleep(for: .seconds(5))
        return textResponse(.ok, "late")
    default:
        return textResponse(.notFound, "not found")
    }
}

@Suite("http.request")
struct HTTPRequestCommandTests {
    @Test("a JSON response body is decoded; headers are lower-cased")
    func jsonBody() async throws {
        try await withTestServer(httpTestHandler) { port in
            let catalog = try makeCatalog()
            let result = try await call(catalog, "http.request", .object(["url": .string("http://127.0.0.1:\(port)/json")]))
            #expect(result.field("status") == .integer(200))
            #expect(result.field("body") == .object(["hello": .string("world"), "n": .integer(3)]))
            #expect(result.field("headers")?.field("x-test") == .string("yes"))
            #expect(result.field("headers")?.field("content-type") == .string("application/json"))
        }
    }

    @Test("a text body stays a string; broken JSON too")
    func textBody() async throws {
        try await withTestServer(httpTestHandler) { port in
            let catalog = try makeCatalog()
            let text = try await call(catalog, "http.request", .object(["url": .string("http://127.0.0.1:\(port)/text")]))
            #expect(text.field("body") == .string("plain text"))
            let broken = try await call(
                catalog, "http.request", .object(["url": .string("http://127.0.0.1:\(port)/broken-json")]))
            #expect(broken.field("body") == .string("{not json"))
        }
    }

    @Test("method, headers and bodies are sent: a string as is, other JSON as JSON")
    func sending() async throws {
        try await withTestServer(httpTestHandler) { port in
            let catalog = try makeCatalog()
            let url = JSONValue.string("http://127.0.0.1:\(port)/echo")
            let posted = try await call(
                catalog, "http.request",
                .object([
                    "method": .string("post"), "url": url,
                    "headers": .object(["X-Token": .string("abc"), "X-Count": .integer(2)]),
                    "body": .object(["a": .array([.integer(1), .bool(true)])]),
                ]))
            let echoed = posted.field("body")
            #expect(echoed?.field("method") == .string("POST"))
            #expect(echoed?.field("headers")?.field("x-token") == .string("abc"))
            #expect(echoed?.field("headers")?.field("x-count") == .string("2"))
            #expect(echoed?.field("headers")?.field("content-type") == .string("application/json"))
            #expect(echoed?.field("body") == .string("{\"a\":[1,true]}"))

            let text = try await call(
                catalog, "http.request",
                .object([
                    "method": .string("PUT"), "url": url, "body": .string("raw text"),
                    "headers": .object(["Content-Type": .string("text/plain")]),
                ]))
            #expect(text.field("body")?.field("method") == .string("PUT"))
            #expect(text.field("body")?.field("body") == .string("raw text"))
            #expect(text.field("body")?.field("headers")?.field("content-type") == .string("text/plain"))
        }
    }

    @Test("a non-2xx status is a result, not a failure")
    func non2xx() async throws {
        try await withTestServer(httpTestHandler) { port in
            let catalog = try makeCatalog()
            let missing = try await call(catalog, "http.request", .object(["url": .string("http://127.0.0.1:\(port)/missing")]))
            #expect(missing.field("status") == .integer(404))
            #expect(missing.field("body") == .object(["error": .string("no such thing")]))
            let failed = try await call(catalog, "http.request", .object(["url": .string("http://127.0.0.1:\(port)/fail")]))
            #expect(failed.field("status") == .integer(500))
            #expect(failed.field("body") == .string("boom"))
        }
    }

    @Test("the timeout fails the step promptly")
    func timeout() async throws {
        try await withTestServer(httpTestHandler) { port in
            let catalog = try makeCatalog()
            let url = "http://127.0.0.1:\(port)/slow"
            let started = ContinuousClock.now
            let message = await failure(catalog, "http.request", .object(["url": .string(url), "timeout": .number(0.5)]))
            #expect(message == "GET \(url): timed out after 0.5 s")
            #expect(ContinuousClock.now - started < .seconds(3))
        }
    }

    @Test("inputs are checked")
    func inputs() async throws {
        let catalog = try makeCatalog()
        #expect(await failure(catalog, "http.request", .object([:])) == "\"url\" is required")
        #expect(
            await failure(catalog, "http.request", .object(["url": .string("file:///etc/passwd")]))
                == "\"url\" must be an http or https URL, got \"file:///etc/passwd\"")
        #expect(
            await failure(catalog, "http.request", .object(["url": .string("http://x"), "timeout": .integer(0)]))
                == "\"timeout\" must be a number of seconds between 0 and 86400")
        #expect(
            await failure(catalog, "http.request", .object(["url": .string("http://x"), "headers": .object(["a": .array([])])]))
                == "\"headers\": the value of \"a\" must be a string")
        #expect(
            await failure(catalog, "http.request", .object(["url": .string("http://x"), "method": .string("GE T")]))
                == "\"method\" must be an HTTP method name, got \"GE T\"")
    }
}

@Suite("claiflow.echo and claiflow.sleep")
struct BasicCommandTests {
    @Test("echo returns its inputs, or {} without")
    func echo() async throws {
        let catalog = try makeCatalog()
        let inputs = JSONValue.object(["a": .array([.integer(1), .string("x")]), "b": .null])
        #expect(try await call(catalog, "claiflow.echo", inputs) == inputs)
        #expect(try await call(catalog, "claiflow.echo", nil) == .object([:]))
        #expect(try await call(catalog, "claiflow.echo", .string("s")) == .string("s"))
    }

    @Test("sleep waits, and checks its input")
    func sleep() async throws {
        let catalog = try makeCatalog()
        let started = ContinuousClock.now
        #expect(
            try await call(catalog, "claiflow.sleep", .object(["seconds": .number(0.2)])) == .object(["seconds": .number(0.2)]))
        #expect(ContinuousClock.now - started >= .milliseconds(200))
        #expect(await failure(catalog, "claiflow.sleep", .object([:])) == "\"seconds\" is required")
        #expect(
            await failure(catalog, "claiflow.sleep", .object(["seconds": .string("1")]))
                == "\"seconds\" must be a number, got string")
        #expect(
            await failure(catalog, "claiflow.sleep", .object(["seconds": .integer(-1)]))
                == "\"seconds\" must be between 0 and 604800")
    }

    @Test("sleep ends promptly when its task is cancelled")
    func sleepCancelled() async throws {
        let catalog = try makeCatalog()
        let started = ContinuousClock.now
        let task = Task { try await call(catalog, "claiflow.sleep", .object(["seconds": .integer(30)])) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let result = await task.result
        // Far less than the 30 s asked for (generous: CI machines can be busy).
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(throws: CancellationError.self) { try result.get() }
    }
}

@Suite("http.request cancellation")
struct HTTPRequestCancellationTests {
    @Test("a request to a server that never answers ends at once with CancellationError when its task is cancelled")
    func cancelledRequest() async throws {
        let arrived = Mutex(false)
        try await withTestServer({ _ in
            arrived.withLock { $0 = true }
            try await Task.sleep(for: .seconds(60))
            return textResponse(.ok, "late")
        }) { port in
            let catalog = try makeCatalog()
            let task = Task {
                try await call(
                    catalog, "http.request", .object(["url": .string("http://127.0.0.1:\(port)/hang"), "timeout": .integer(60)]))
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while !arrived.withLock({ $0 }) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(arrived.withLock { $0 })
            let cancelled = ContinuousClock.now
            task.cancel()
            let result = await task.result
            #expect(throws: CancellationError.self) { try result.get() }
            // Far less than the 60 s the server and the request timeout allow.
            #expect(ContinuousClock.now - cancelled < .seconds(5))
        }
    }
}
