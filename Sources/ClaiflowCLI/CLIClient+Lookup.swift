import ClaiflowAPIClient
import Foundation

extension CLIClient {
    /// The cluster named by `ref`: its uuid, else its name (which must be unique).
    public func cluster(_ ref: String) async throws -> Components.Schemas.Cluster {
        if Self.mayBeIdentifier(ref), let found = try await clusters(q: Self.equals("uuid", ref)).first { return found }
        let named = try await clusters(named: ref)
        guard let first = named.first else { throw CLIError("no cluster with uuid or name \"\(ref)\"") }
        guard named.count == 1 else {
            throw CLIError(
                "\(named.count) clusters are named \"\(ref)\": give a uuid (\(named.map(\.uuid).joined(separator: ", ")))")
        }
        return first
    }

    /// The template named by `ref`: its uuid, else its name (which must be unique).
    public func template(_ ref: String) async throws -> Components.Schemas.Template {
        func list(_ q: String) async throws -> [Components.Schemas.Template] {
            try await api.listTemplates(query: .init(q: q)).ok.body.json
        }
        if Self.mayBeIdentifier(ref), let found = try await list(Self.equals("uuid", ref)).first { return found }
        let named = try await list(Self.equals("name", ref))
        guard let first = named.first else { throw CLIError("no template with uuid or name \"\(ref)\"") }
        guard named.count == 1 else {
            throw CLIError(
                "\(named.count) templates are named \"\(ref)\": give a uuid (\(named.map(\.uuid).joined(separator: ", ")))")
        }
        return first
    }

    /// The clusters named `name` (names are not unique on the server).
    public func clusters(named name: String) async throws -> [Components.Schemas.Cluster] {
        try await clusters(q: Self.equals("name", name))
    }

    /// The clusters matching a `q` condition.
    func clusters(q: String) async throws -> [Components.Schemas.Cluster] {
        try await api.listClusters(query: .init(q: q)).ok.body.json
    }
}

extension CLIClient {
    /// The service `uuid` on `cluster` (uuid or name); without a cluster, the one service with
    /// that uuid (several clusters sharing it need `--cluster`).
    public func service(_ uuid: String, cluster: String?) async throws -> Components.Schemas.Service {
        if let cluster {
            let clusterUUID = try await self.cluster(cluster).uuid
            return try await api.getClusterService(path: .init(uuid: clusterUUID, serviceUuid: uuid)).ok.body.json
        }
        let found = try await api.listServices(query: .init(q: Self.equals("uuid", uuid), p: #"{"limit":2}"#)).ok.body.json
        guard let first = found.first else { throw CLIError("no service \"\(uuid)\"") }
        guard found.count == 1 else {
            throw CLIError("service \"\(uuid)\" runs on several clusters: name one with --cluster")
        }
        return try await api.getClusterService(path: .init(uuid: first.clusterUuid, serviceUuid: uuid)).ok.body.json
    }
}

extension CLIClient {
    /// A list's `q`: `query` and, with `cluster` (uuid or name), the rows of that cluster.
    public func condition(_ query: String?, cluster: String?) async throws -> String? {
        guard let cluster else { return query }
        let byCluster = Self.equals("cluster_uuid", try await self.cluster(cluster).uuid)
        return query.map { #"{"and":[\#(byCluster),\#($0)]}"# } ?? byCluster
    }
}

extension CLIClient {
    /// The schedule named by `ref`: its uuid, else its name (which must be unique). The schedule
    /// comes from `GET /api/v1/schedule/{uuid}`, so it carries its last runs.
    public func schedule(_ ref: String) async throws -> Components.Schemas.Schedule {
        func list(_ q: String) async throws -> [Components.Schemas.Schedule] {
            try await api.listSchedules(query: .init(q: q)).ok.body.json
        }
        var found = Self.mayBeIdentifier(ref) ? try await list(Self.equals("uuid", ref)) : []
        if found.isEmpty { found = try await list(Self.equals("name", ref)) }
        guard let first = found.first, let uuid = first.uuid else { throw CLIError("no schedule with uuid or name \"\(ref)\"") }
        guard found.count == 1 else {
            throw CLIError(
                "\(found.count) schedules are named \"\(ref)\": give a uuid (\(found.compactMap(\.uuid).joined(separator: ", ")))"
            )
        }
        return try await api.getSchedule(path: .init(uuid: uuid)).ok.body.json
    }
}
