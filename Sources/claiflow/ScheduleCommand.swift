import ArgumentParser
import ClaiflowAPIClient
import ClaiflowCLI
import Foundation

/// `claiflow schedule …`: fleet runs started at the ticks of a cron expression.
struct ScheduleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "List, show, create, pause, resume and delete schedules.",
        discussion: """
            Examples:
              claiflow schedule create -f nightly.yaml
              claiflow schedule list -o wide
              claiflow schedule pause 'nightly pods'
            """,
        subcommands: [List.self, Get.self, Create.self, Pause.self, Resume.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List schedules, newest first.",
            discussion: "Example:\n  claiflow schedule list --query '{\"eq\":{\"paused\":1}}' -o wide")

        @OptionGroup var list: ListOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let rows = try await connection.client().api.listSchedules(query: .init(q: list.query, p: list.page)).ok.body.json
            try output.print(rows) { ResourceTables.schedules(rows, wide: $0) }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one schedule (by uuid or name) with its next ticks and last runs.",
            discussion: "Example:\n  claiflow schedule get 'nightly pods' -o yaml")

        @Argument(help: "The schedule's uuid or name.") var schedule: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let found = try await connection.client().schedule(schedule)
            try output.print(found) { ResourceTables.schedules([found], wide: $0) }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a schedule from a JSON or YAML file (the body of POST /api/v1/schedule).",
            discussion: """
                Example (nightly.yaml):
                  name: nightly pods
                  cron: 0 2 * * MON-FRI
                  timezone: Europe/Berlin
                  concurrency_policy: forbid
                  run:
                    name: pods per region
                    template_uuid: 00000000000000000000000000000001
                    selector: env=prod
                    strategy: {max_parallel: 25%}

                  claiflow schedule create -f nightly.yaml
                """)

        @Option(name: .shortAndLong, help: "The file (- for standard input).") var file: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let body = try JSONInput.decode(Components.Schemas.ScheduleCreate.self, from: JSONInput.file(file), what: file)
            let created = try await connection.client().api.createSchedule(body: .json(body)).ok.body.json
            try output.print(created) { ResourceTables.schedules([created], wide: $0) }
        }
    }

    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a schedule: it does not tick until resumed.",
            discussion: "Example:\n  claiflow schedule pause 'nightly pods'")

        @Argument(help: "The schedule's uuid or name.") var schedule: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await ScheduleCommand.setPaused(true, schedule, output: output, connection: connection)
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a schedule: it ticks afresh from now (ticks missed while paused are not made up).",
            discussion: "Example:\n  claiflow schedule resume 'nightly pods'")

        @Argument(help: "The schedule's uuid or name.") var schedule: String
        @OptionGroup var output: OutputOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await ScheduleCommand.setPaused(false, schedule, output: output, connection: connection)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a schedule (the runs it started stay).",
            discussion: "Example:\n  claiflow schedule delete 'nightly pods'")

        @Argument(help: "The schedule's uuid or name.") var schedule: String
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            let client = try connection.client()
            let found = try await client.schedule(schedule)
            let uuid = found.uuid ?? schedule
            _ = try await client.api.deleteSchedule(path: .init(uuid: uuid)).ok
            Terminal.write("schedule \(uuid) (\(found.name ?? "")) deleted\n")
        }
    }

    /// Pauses or resumes the schedule `ref` (uuid or name) and prints it.
    static func setPaused(_ paused: Bool, _ ref: String, output: OutputOptions, connection: ConnectionOptions) async throws {
        let client = try connection.client()
        let found = try await client.schedule(ref)
        let changed = try await client.api.updateSchedule(
            path: .init(uuid: found.uuid ?? ref), body: .json(.init(paused: paused))
        ).ok.body.json
        try output.print(changed) { ResourceTables.schedules([changed], wide: $0) }
    }
}
