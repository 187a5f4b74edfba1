import ClaiflowCore
import Foundation
import Testing

@testable import ClaiflowAgentCommands

/// A directory with a fake `helm`: it records each invocation's arguments (one per line, then a
/// line `--end--`) and a copy of any `--values` file, and answers like helm v3 does.
struct FakeHelm {
    let directory: URL
    var log: URL { directory.appendingPathComponent("invocations.log") }
    var valuesCopy: URL { directory.appendingPathComponent("values.copy") }

    init() throws {
        directory = try temporaryDirectory()
        let script = """
            #!/bin/sh
            log='\(directory.path)/invocations.log'
            previous=''
            for argument in "$@"; do
              printf '%s\\n' "$argument" >> "$log"
              if [ "$previous" = "--values" ]; then cat "$argument" > '\(directory.path)/values.copy'; fi
              previous="$argument"
            done
            printf -- '--end--\\n' >> "$log"
            if [ "$2" = "broken" ]; then
              echo 'Error: INSTALLATION FAILED: cannot re-use a name that is still in use' >&2
              exit 1
            fi
            case "$1" in
              install|upgrade)
                printf '{"name":"%s","namespace":"web","info":{"first_deployed":"2026-01-01T00:00:00Z","last_deployed":"2026-01-02T00:00:00Z","deleted":"","description":"Install complete","status":"deployed","notes":"Thanks for installing"},"chart":{"metadata":{"name":"nginx","version":"1.2.3"}},"config":{"replicas":2},"manifest":"","version":2}\\n' "$2" ;;
              uninstall) printf 'release "%s" uninstalled\\n' "$2" ;;
              rollback) printf 'Rollback was a success! Happy Helming!\\n' ;;
              history)
                printf '[{"revision":1,"updated":"2026-01-01T00:00:00Z","status":"superseded","chart":"ingress-nginx-4.10.0","app_version":"1.10.0","description":"Install complete"},{"revision":2,"updated":"2026-01-02T00:00:00Z","status":"deployed","chart":"ingress-nginx-4.11.0-rc.1","app_version":"1.11.0","description":"Upgrade complete"}]\\n' ;;
              get) printf '{"replicas":2}\\n' ;;
              repo)
                case "$2" in
                  add) printf '"%s" has been added to your repositories\\n' "$3" ;;
                  list) printf '[{"name":"bitnami","url":"https://charts.bitnami.com/bitnami"}]\\n' ;;
                  update) printf 'Hang tight while we grab the latest from your chart repositories...\\nUpdate Complete. Happy Helming!\\n' ;;
                esac ;;
            esac
            """
        let path = directory.appendingPathComponent("helm").path
        guard FileManager.default.createFile(atPath: path, contents: Data(script.utf8), attributes: [.posixPermissions: 0o755])
        else { throw TestFailure("cannot write the fake helm") }
    }

    /// The argument arrays of every invocation so far.
    func invocations() throws -> [[String]] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        var result: [[String]] = []
        var current: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "--end--" {
                result.append(current)
                current = []
            } else if !line.isEmpty {
                current.append(String(line))
            }
        }
        return result
    }

    /// A catalog that finds this helm first on a `PATH`.
    func catalog() throws -> CommandCatalog {
        var configuration = CommandConfiguration(httpClient: testHTTPClient)
        configuration.helmSearchPath = "\(directory.path):/usr/bin:/bin"
        return try CommandCatalog.builtin(configuration)
    }
}

@Suite("helm commands")
struct HelmCommandTests {
    @Test("without helm on PATH the commands fail clearly")
    func noHelm() async throws {
        let empty = try temporaryDirectory()
        var configuration = CommandConfiguration(httpClient: testHTTPClient)
        configuration.helmSearchPath = empty.path
        let onPath = try CommandCatalog.builtin(configuration)
        #expect(await failure(onPath, "helm.repo_list", nil) == "helm CLI not found on PATH")
        #expect(
            await failure(onPath, "helm.uninstall", .object(["name": .string("a"), "namespace": .string("b")]))
                == "helm CLI not found on PATH")
        let configured = try makeCatalog(helmPath: empty.appendingPathComponent("helm").path)
        #expect(await failure(configured, "helm.repo_list", nil) == "helm CLI not found at \(empty.path)/helm")
    }

    @Test("install: argument array, values file, and the original's output shape")
    func install() async throws {
        let helm = try FakeHelm()
        let catalog = try helm.catalog()
        let result = try await call(
            catalog, "helm.install",
            .object([
                "name": .string("web"), "namespace": .string("apps"), "chart_name": .string("nginx"),
                "repo_url": .string("https://charts.example.com"), "chart_version": .string("1.2.3"),
                "values": .object(["replicas": .integer(2), "name": .string("a b; rm -rf /")]), "timeout": .integer(10),
            ]))
        let invocations = try helm.invocations()
        #expect(invocations.count == 1)
        let arguments = try #require(invocations.first)
        let valuesIndex = try #require(arguments.firstIndex(of: "--values"))
        let valuesPath = arguments[valuesIndex + 1]
        #expect(
            arguments == [
                "install", "web", "nginx", "--repo", "https://charts.example.com", "--namespace", "apps",
                "--create-namespace", "--wait", "--wait-for-jobs", "--atomic", "--version", "1.2.3", "--timeout", "10m",
                "--values", valuesPath, "--output", "json",
            ])
        #expect(
            try json(String(contentsOf: helm.valuesCopy, encoding: .utf8))
                == .object(["replicas": .integer(2), "name": .string("a b; rm -rf /")]))
        #expect(!FileManager.default.fileExists(atPath: valuesPath), "the values file is removed")
        #expect(
            result
                == .object([
                    "name": .string("web"), "namespace": .string("web"), "status": .string("deployed"),
                    "revision": .integer(2), "last_deployed": .string("2026-01-02T00:00:00Z"),
                    "notes": .string("Thanks for installing"), "user_supplied_values": .object(["replicas": .integer(2)]),
                ]))

        _ = try await call(
            catalog, "helm.install",
            .object([
                "name": .string("cache"), "namespace": .string("apps"), "chart_name": .string("redis"),
                "repo_name": .string("bitnami"),
            ]))
        #expect(
            try helm.invocations().last == [
                "install", "cache", "bitnami/redis", "--namespace", "apps", "--create-namespace", "--wait",
                "--wait-for-jobs", "--atomic", "--timeout", "300s", "--output", "json",
            ])
        #expect(
            await failure(
                catalog, "helm.install",
                .object(["name": .string("x"), "namespace": .string("apps"), "chart_name": .string("redis")]))
                == "\"repo_url\" or \"repo_name\" is required")
    }

    @Test("upgrade and uninstall argument arrays")
    func upgradeAndUninstall() async throws {
        let helm = try FakeHelm()
        let catalog = try helm.catalog()
        let upgraded = try await call(
            catalog, "helm.upgrade",
            .object([
                "name": .string("web"), "namespace": .string("apps"), "chart_name": .string("nginx"),
                "repo_name": .string("bitnami"), "reuse_values": .bool(true),
            ]))
        #expect(upgraded.field("status") == .string("deployed"))
        #expect(
            try helm.invocations().last == [
                "upgrade", "web", "bitnami/nginx", "--namespace", "apps", "--wait", "--atomic", "--cleanup-on-fail",
                "--history-max", "20", "--reuse-values", "--timeout", "300s", "--output", "json",
            ])
        let uninstalled = try await call(
            catalog, "helm.uninstall", .object(["name": .string("web"), "namespace": .string("apps")]))
        #expect(try helm.invocations().last == ["uninstall", "web", "--namespace", "apps", "--wait", "--timeout", "300s"])
        #expect(
            uninstalled
                == .object([
                    "name": .string("web"), "namespace": .string("apps"), "status": .string("uninstalled"),
                    "message": .string("release \"web\" uninstalled"),
                ]))
    }

    @Test("repo add, list, update")
    func repositories() async throws {
        let helm = try FakeHelm()
        let catalog = try helm.catalog()
        let added = try await call(
            catalog, "helm.repo_add",
            .object(["repo_name": .string("bitnami"), "repo_url": .string("https://charts.bitnami.com/bitnami")]))
        #expect(try helm.invocations().last == ["repo", "add", "bitnami", "https://charts.bitnami.com/bitnami"])
        #expect(added.field("message") == .string("\"bitnami\" has been added to your repositories"))
        let list = try await call(catalog, "helm.repo_list", .object([:]))
        #expect(try helm.invocations().last == ["repo", "list", "--output", "json"])
        #expect(list == .array([.object(["name": .string("bitnami"), "url": .string("https://charts.bitnami.com/bitnami")])]))
        let updated = try await call(catalog, "helm.repo_update", .object(["repo_name": .string("bitnami")]))
        #expect(try helm.invocations().last == ["repo", "update", "bitnami"])
        #expect(updated.field("name") == .string("bitnami"))
    }

    @Test("get_values, history and rollback")
    func releaseQueries() async throws {
        let helm = try FakeHelm()
        let catalog = try helm.catalog()
        let values = try await call(
            catalog, "helm.get_values", .object(["name": .string("web"), "namespace": .string("apps"), "all": .bool(true)]))
        #expect(try helm.invocations().last == ["get", "values", "web", "--namespace", "apps", "--output", "json", "--all"])
        #expect(values == .object(["replicas": .integer(2)]))

        let history = try await call(catalog, "helm.history", .object(["name": .string("web"), "namespace": .string("apps")]))
        #expect(try helm.invocations().last == ["history", "web", "--namespace", "apps", "--output", "json"])
        guard case .array(let entries) = history else {
            Issue.record("history is not an array")
            return
        }
        #expect(entries.map { $0.field("revision") } == [.integer(2), .integer(1)])
        #expect(entries.first?.field("chart_name") == .string("ingress-nginx"))
        #expect(entries.first?.field("chart_version") == .string("4.11.0-rc.1"))
        #expect(entries.last?.field("chart_version") == .string("4.10.0"))
        #expect(entries.first?.field("release_name") == .string("web"))
        #expect(entries.first?.field("namespace") == .string("apps"))

        let rolledBack = try await call(
            catalog, "helm.rollback", .object(["name": .string("web"), "namespace": .string("apps"), "revision": .integer(1)]))
        #expect(
            try helm.invocations().last == [
                "rollback", "web", "1", "--namespace", "apps", "--wait", "--cleanup-on-fail", "--history-max", "20",
                "--timeout", "300s",
            ])
        #expect(rolledBack.field("message") == .string("Rollback was a success! Happy Helming!"))
        _ = try await call(
            catalog, "helm.rollback", .object(["name": .string("web"), "namespace": .string("apps"), "revision": .integer(0)]))
        #expect(try helm.invocations().last?.prefix(3) == ["rollback", "web", "--namespace"])
    }

    @Test("a failing helm reports its error text")
    func helmFails() async throws {
        let helm = try FakeHelm()
        let catalog = try helm.catalog()
        let message = await failure(
            catalog, "helm.install",
            .object([
                "name": .string("broken"), "namespace": .string("apps"), "chart_name": .string("nginx"),
                "repo_name": .string("bitnami"),
            ]))
        #expect(
            message
                == "helm install broken failed (exit status 1): INSTALLATION FAILED: cannot re-use a name that is still in use")
    }
}
