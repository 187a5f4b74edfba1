import ClaiflowCore
import ClaiflowFakeKubernetes
import ClaiflowFlow
import Foundation
import Testing

@testable import ClaiflowAgentCommands

/// A running pod `web/<name>` with the given containers (and annotations, phase).
private func execPod(
    _ fake: FakeKubernetesAPIServer, _ name: String = "web-1", containers: [String] = ["app"],
    annotations: [String: String] = [:], phase: String = "Running"
) async throws {
    try await fake.seed(
        try fakeResource("pods"), namespace: "web",
        .object([
            "metadata": .object(["name": .string(name), "annotations": .object(annotations.mapValues { .string($0) })]),
            "spec": .object([
                "containers": .array(containers.map { .object(["name": .string($0), "image": .string("busybox:1.36")]) })
            ]),
            "status": .object(["phase": .string(phase)]),
        ]))
}

private func exec(_ command: JSONValue, pod: String = "web-1", extra: [String: JSONValue] = [:]) -> JSONValue {
    var inputs: [String: JSONValue] = ["namespace": .string("web"), "name": .string(pod), "command": command]
    inputs.merge(extra) { _, new in new }
    return .object(inputs)
}

@Suite("kubernetes.pods.exec.v1")
struct KubernetesExecTests {
    static let command = "kubernetes.pods.exec.v1"

    @Test("runs the command over a v5.channel.k8s.io WebSocket and returns stdout, stderr and the exit code")
    func success() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            let output = try await call(catalog, Self.command, exec(.string("echo hello")))
            #expect(output == .object(["stdout": .string("hello"), "stderr": .string(""), "exit_code": .integer(0)]))
            let session = try #require(await fake.execSessions.last)
            #expect(session.command == ["echo", "hello"])
            #expect(session.container == "app")
            #expect(session.subprotocol == "v5.channel.k8s.io")
            #expect(!session.stdin)
            let seen = await fake.requests.suffix(2).map { "\($0.method) \($0.path)" }
            // The pod is read for its default container, then the exec is upgraded.
            #expect(seen == ["GET /api/v1/namespaces/web/pods/web-1", "GET /api/v1/namespaces/web/pods/web-1/exec"])
            #expect(
                await fake.requests.last?.query
                    == "command=echo&command=hello&container=app&stdout=true&stderr=true")
        }
    }

    @Test("stdout and stderr are separate streams; quoting keeps a shell script one word")
    func streams() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            let output = try await call(
                catalog, Self.command, exec(.string("sh -c 'echo out; echo oops >&2'"), extra: ["container_name": .string("app")])
            )
            #expect(output.field("stdout") == .string("out"))
            #expect(output.field("stderr") == .string("oops"))
            #expect(await fake.execSessions.last?.command == ["sh", "-c", "echo out; echo oops >&2"])
            // An array is taken word for word.
            let array = try await call(catalog, Self.command, exec(.array([.string("echo"), .string("a  b")])))
            #expect(array.field("stdout") == .string("a  b"))
        }
    }

    @Test("a non-zero exit status fails the step with the code and the tail of stderr")
    func nonZeroExit() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            let message = await failure(catalog, Self.command, exec(.string("sh -c 'echo partial; echo disk full >&2; exit 3'")))
            #expect(
                message
                    == #"command "sh -c echo partial; echo disk full >&2; exit 3" in pod web/web-1 (container app) exited with code 3; stderr: disk full"#
            )
            let missing = await failure(catalog, Self.command, exec(.string("sh -c frobnicate")))
            #expect(missing?.hasSuffix("exited with code 127; stderr: sh: 1: frobnicate: not found") == true, "\(missing ?? "")")
        }
    }

    @Test("a command that cannot start fails with the API server's Status")
    func cannotStart() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            let message = await failure(catalog, Self.command, exec(.string("frobnicate --now")))
            #expect(
                message?.hasPrefix(
                    #"command "frobnicate --now" in pod web/web-1 (container app) failed: Internal error occurred: "#) == true)
            #expect(message?.hasSuffix("executable file not found in $PATH: unknown (InternalError)") == true, "\(message ?? "")")
        }
    }

    @Test("an unknown pod is the API server's 404, whether the pod is read first or the upgrade is refused")
    func unknownPod() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            let read = await failure(catalog, Self.command, exec(.string("echo x"), pod: "nope"))
            #expect(read == #"kubernetes API: pods "nope" not found (NotFound, code 404)"#)
            let upgrade = await failure(
                catalog, Self.command, exec(.string("echo x"), pod: "nope", extra: ["container_name": .string("app")]))
            #expect(upgrade == #"kubernetes API: pods "nope" not found (NotFound, code 404)"#)
            #expect(await fake.requests.last?.path == "/api/v1/namespaces/web/pods/nope/exec")
            #expect(await fake.execSessions.isEmpty)
        }
    }

    @Test("a wrong token is 401 and a missing RBAC grant is 403, with the Status message")
    func authentication() async throws {
        try await withFakeKubernetes(token: "wrong") { fake, catalog, _ in
            try await execPod(fake)
            let message = await failure(
                catalog, Self.command, exec(.string("echo x"), extra: ["container_name": .string("app")]))
            #expect(message == "kubernetes API: Unauthorized (Unauthorized, code 401)")
            #expect(await fake.execSessions.isEmpty)
        }
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            await fake.forbid("create", "pods/exec")
            let message = await failure(catalog, Self.command, exec(.string("echo x")))
            #expect(
                message
                    == #"kubernetes API: pods "web-1" is forbidden: User "system:serviceaccount:claiflow:agent" cannot create resource "pods/exec" in API group "" in the namespace "web" (Forbidden, code 403)"#
            )
        }
    }

    @Test("an API server that speaks only v4.channel.k8s.io is served with it; one that speaks neither refuses the handshake")
    func subprotocols() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            await fake.speakExecSubprotocols(["v4.channel.k8s.io"])
            let output = try await call(catalog, Self.command, exec(.string("echo v4")))
            #expect(output.field("stdout") == .string("v4"))
            #expect(await fake.execSessions.last?.subprotocol == "v4.channel.k8s.io")
            await fake.speakExecSubprotocols(["channel.k8s.io"])
            let message = await failure(
                catalog, Self.command, exec(.string("echo v1"), extra: ["container_name": .string("app")]))
            #expect(message == "kubernetes API GET /api/v1/namespaces/web/pods/web-1/exec: HTTP 403: no body")
        }
    }

    @Test("over TLS: the CA is trusted for 127.0.0.1, the client certificate authenticates; an unknown CA is refused")
    func tls() async throws {
        let fake = FakeKubernetesAPIServer(token: "test-token")
        try await execPod(fake)
        try await fake.run(tls: try FakeKubernetesTLS.serverConfiguration()) { port in
            let access = KubernetesAccess(
                baseURL: "https://127.0.0.1:\(port)",
                authentication: .clientCertificate(
                    certificatePEM: FakeKubernetesTLS.clientCertificatePEM, privateKeyPEM: FakeKubernetesTLS.clientKeyPEM),
                certificateAuthorityPEM: FakeKubernetesTLS.certificateAuthorityPEM)
            let catalog = try makeCatalog(kubernetes: access)
            let output = try await call(catalog, Self.command, exec(.string("echo over tls")))
            #expect(output.field("stdout") == .string("over tls"))
            #expect(await fake.execSessions.last?.subprotocol == "v5.channel.k8s.io")

            var untrusted = access
            untrusted.certificateAuthorityPEM = testCertificatePEM
            let message = await failure(
                try makeCatalog(kubernetes: untrusted), Self.command,
                exec(.string("echo x"), extra: ["container_name": .string("app")]))
            #expect(message?.hasPrefix("kubernetes API GET /api/v1/namespaces/web/pods/web-1/exec: ") == true, "\(message ?? "")")
            #expect(message?.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(message ?? "")")
        }
    }

    @Test("the container: the default-container annotation, else the first; a bad name and a completed pod are refused")
    func containers() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(
                fake, "multi", containers: ["proxy", "app"], annotations: ["kubectl.kubernetes.io/default-container": "app"])
            try await execPod(fake, "plain", containers: ["first", "second"])
            try await execPod(fake, "done", phase: "Succeeded")

            #expect(
                try await call(catalog, Self.command, exec(.string("hostname"), pod: "multi")).field("stdout") == .string("multi")
            )
            #expect(await fake.execSessions.last?.container == "app")
            _ = try await call(catalog, Self.command, exec(.string("hostname"), pod: "plain"))
            #expect(await fake.execSessions.last?.container == "first")
            let bad = await failure(
                catalog, Self.command, exec(.string("hostname"), pod: "plain", extra: ["container_name": .string("nope")]))
            #expect(bad == "kubernetes API: container nope is not valid for pod plain (BadRequest, code 400)")
            let done = await failure(catalog, Self.command, exec(.string("hostname"), pod: "done"))
            #expect(done == "cannot exec into pod web/done: it has completed (phase Succeeded)")
        }
    }

    @Test("the timeout closes the connection and fails the step")
    func timeout() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            let start = ContinuousClock.now
            let message = await failure(catalog, Self.command, exec(.string("sleep 3600"), extra: ["timeout": .number(0.3)]))
            #expect(message == "kubernetes exec /api/v1/namespaces/web/pods/web-1/exec: timed out after 0.3 s")
            #expect(ContinuousClock.now - start < .seconds(10))
            let bad = await failure(catalog, Self.command, exec(.string("echo"), extra: ["timeout": .integer(0)]))
            #expect(bad == "\"timeout\" must be more than 0 and at most 86400 seconds")
        }
    }

    @Test("output past 1 MiB a stream is dropped and flagged")
    func outputCap() async throws {
        try await withFakeKubernetes { fake, catalog, _ in
            try await execPod(fake)
            // 1…200000, one a line: 1,288,895 bytes.
            let output = try await call(catalog, Self.command, exec(.string("seq 200000")))
            #expect(output.field("truncated") == .bool(true))
            guard case .string(let stdout)? = output.field("stdout") else {
                Issue.record("no stdout")
                return
            }
            #expect(stdout.utf8.count <= 1 << 20)
            #expect(stdout.hasPrefix("1\n2\n3\n"))
            let small = try await call(catalog, Self.command, exec(.string("seq 3")))
            #expect(small == .object(["stdout": .string("1\n2\n3"), "stderr": .string(""), "exit_code": .integer(0)]))
        }
    }

    @Test("command lines split like a shell, without expansions")
    func words() throws {
        #expect(try KubernetesExec.words("ls -l  /tmp") == ["ls", "-l", "/tmp"])
        #expect(try KubernetesExec.words(#"sh -c 'echo "$HOME"; exit 2'"#) == ["sh", "-c", #"echo "$HOME"; exit 2"#])
        #expect(try KubernetesExec.words(#"printf "a \"b\" \$c \n" x\ y ''"#) == ["printf", #"a "b" $c \n"#, "x y", ""])
        #expect(throws: FlowCommandError.self) { try KubernetesExec.words("echo 'open") }
        #expect(throws: FlowCommandError.self) { try KubernetesExec.words(#"echo "open"#) }
        #expect(try KubernetesExec.words("   ") == [])
    }

    @Test("input errors are clear")
    func inputErrors() async throws {
        try await withFakeKubernetes { _, catalog, _ in
            #expect(await failure(catalog, Self.command, exec(.string("  "))) == "\"command\" is required")
            #expect(await failure(catalog, Self.command, exec(.string("echo 'x"))) == "\"command\" has an unterminated ' quote")
            #expect(
                await failure(catalog, Self.command, exec(.array([.string("echo"), .integer(1)])))
                    == "\"command\" must be a string or an array of strings, got an array with a number")
            #expect(
                await failure(catalog, Self.command, .object(["name": .string("p"), "command": .string("ls")]))
                    == "\"namespace\" is required")
        }
        let unconfigured = try makeCatalog()
        #expect(
            await failure(unconfigured, Self.command, exec(.string("ls")))
                == "no Kubernetes access configured: kubernetes.pods.exec.v1 cannot run")
    }
}
