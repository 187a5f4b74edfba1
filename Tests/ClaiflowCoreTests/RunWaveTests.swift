import ClaiflowCore
import Testing

@Suite("A run's waves: clusters in target order, max_parallel at a time")
struct RunWaveTests {
    static func cluster(_ i: Int, _ status: RunCluster.Status, released: Bool = false) -> RunCluster {
        let t = Timestamp(microseconds: 1_000_000)
        let final = status.isFinal && status != .skipped
        return RunCluster(
            position: i, clusterUUID: "c\(i)", clusterName: "c\(i)", labels: ClusterLabels(), status: status, message: nil,
            started: released || status != .pending && status != .skipped ? t : nil, ended: final ? t : nil)
    }

    @Test("waves of max_parallel in position order; skipped clusters belong to none; done, in progress, pending")
    func waves() {
        let clusters = [
            Self.cluster(4, .pending), Self.cluster(0, .succeeded), Self.cluster(1, .failed), Self.cluster(2, .skipped),
            Self.cluster(3, .running), Self.cluster(5, .pending, released: true), Self.cluster(6, .pending),
            Self.cluster(7, .pending),
        ]
        let waves = RunWave.waves(clusters, maxParallel: 2)
        #expect(waves.map(\.number) == [1, 2, 3, 4])
        #expect(waves.map { $0.clusters.map(\.clusterUUID) } == [["c0", "c1"], ["c3", "c4"], ["c5", "c6"], ["c7"]])
        #expect(waves.map(\.state) == [.done, .inProgress, .inProgress, .pending])
        #expect(waves[0].counts == [.succeeded: 1, .failed: 1])
        #expect(waves[1].counts == [.running: 1, .pending: 1])
        #expect(RunWave.waves([], maxParallel: 3).isEmpty)
        #expect(RunWave.waves([Self.cluster(0, .skipped)], maxParallel: 3).isEmpty)
        // One wave when everything is released at once (no max_parallel: all).
        #expect(RunWave.waves(clusters, maxParallel: 100).map(\.state) == [.inProgress])
    }

    @Test("a list's summary from the counters: the last wave released of how many")
    func summary() throws {
        var p = RunProgress(total: 10, skipped: 1, strategy: RunStrategy(maxParallel: .count(3)))
        #expect(RunWave.summary(p) == (0, 4))
        _ = p.next()
        p.released(3)
        #expect(RunWave.summary(p) == (1, 4))
        p.released(1)
        #expect(RunWave.summary(p) == (2, 4))
        p.released(6)
        #expect(RunWave.summary(p) == (4, 4))
        #expect(RunWave.summary(RunProgress(total: 0, skipped: 2, strategy: RunStrategy())) == (0, 0))
    }
}
