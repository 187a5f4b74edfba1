import ClaiflowAPIClient
import ClaiflowCLI
import ClaiflowTestSupport
import Foundation
import Testing

/// `claiflow schedule …` as an operator runs it: the binary against a real server process.
@Suite("claiflow schedule against a server", .serialized)
struct CLIScheduleProcessTests {
    @Test("schedule create -f YAML, list, get -o json, pause/resume, delete; a bad cron shows the server's message")
    func schedules() async throws {
        try await CLIProcessTests.with { s in
            _ = try await s.ok(["login", "--server", s.url, "--api-key", ServerProcess.adminToken])
            _ = try await s.ok(["cluster", "create", "c1", "--uuid", "c1", "-l", "env=prod"])
            let echo = s.config.appendingPathComponent("echo.json")
            try #"{"name":"echo-it","flow":[{"$id":"e","$command":"claiflow.echo","inputs":{"said":"hi"}}]}"#
                .write(to: echo, atomically: true, encoding: .utf8)
            let template = try CLIProcessTests.decode(
                Components.Schemas.Template.self, try await s.ok(["template", "create", "-f", echo.path, "-o", "json"]))

            let file = s.config.appendingPathComponent("nightly.yaml")
            func write(cron: String) throws {
                try """
                name: nightly echo
                uuid: sch1
                cron: \(cron)
                timezone: Europe/Berlin
                concurrency_policy: forbid
                run:
                  name: echo per cluster
                  template_uuid: \(template.uuid)
                  selector: env=prod
                  strategy: {max_parallel: 1}
                """.write(to: file, atomically: true, encoding: .utf8)
            }
            try write(cron: "0 2 1 JAN *")
            let created = try await s.ok(["schedule", "create", "-f", file.path])
            #expect(created.hasPrefix("NAME") && created.contains("nightly echo"), "\(created)")
            #expect(created.contains("0 2 1 JAN *") && created.contains("Europe/Berlin") && created.contains("forbid"))
            #expect(created.contains(" in "), "the next tick is relative: \(created)")

            let table = try await s.ok(["schedule", "list"])
            let lines = table.split(separator: "\n")
            #expect(lines.count == 2 && lines.first?.hasPrefix("NAME  ") == true, "\(table)")
            #expect(lines.last?.contains("nightly echo") == true && lines.last?.contains(" no ") == true, "\(table)")
            let wide = try await s.ok(["schedule", "list", "-o", "wide"])
            #expect(wide.contains("sch1"), "\(wide)")

            let got = try CLIProcessTests.decode(
                Components.Schemas.Schedule.self, try await s.ok(["schedule", "get", "nightly echo", "-o", "json"]))
            #expect(got.uuid == "sch1" && got.cron == "0 2 1 JAN *" && got.paused == false && got.concurrencyPolicy == .forbid)
            #expect((got.next?.count ?? 0) > 0)
            #expect(try await s.ok(["schedule", "get", "sch1", "-o", "yaml"]).contains("name: nightly echo"))

            _ = try await s.ok(["schedule", "pause", "nightly echo"])
            let paused = try CLIProcessTests.decode(
                Components.Schemas.Schedule.self, try await s.ok(["schedule", "get", "sch1", "-o", "json"]))
            #expect(paused.paused == true)
            #expect(try await s.ok(["schedule", "get", "sch1"]).contains(" yes "))
            let resumed = try CLIProcessTests.decode(
                Components.Schemas.Schedule.self, try await s.ok(["schedule", "resume", "sch1", "-o", "json"]))
            #expect(resumed.paused == false)
            #expect(
                try CLIProcessTests.decode(
                    Components.Schemas.Schedule.self, try await s.ok(["schedule", "get", "sch1", "-o", "json"])
                ).paused == false)

            try write(cron: "0 25 * * *")
            let bad = try await s.cli(["schedule", "create", "-f", file.path])
            #expect(bad.status == CLIExitCode.failure, "\(bad.stderr)")
            #expect(bad.stderr.contains("cron: field 2 (hour): 25 is out of range 0-23"), "\(bad.stderr)")
            #expect(bad.stderr.contains("(HTTP 400)"), "\(bad.stderr)")

            #expect(try await s.ok(["schedule", "delete", "nightly echo"]).contains("schedule sch1 (nightly echo) deleted"))
            let gone = try await s.cli(["schedule", "get", "sch1"])
            #expect(gone.status == CLIExitCode.failure)
            #expect(gone.stderr.contains("no schedule with uuid or name \"sch1\""), "\(gone.stderr)")
            let left = try CLIProcessTests.decode(
                [Components.Schemas.Schedule].self, try await s.ok(["schedule", "list", "-o", "json"]))
            #expect(left.isEmpty)
        }
    }
}
