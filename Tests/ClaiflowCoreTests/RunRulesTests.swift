import ClaiflowCore
import Testing

@Suite("Run rules: limits, strategy, progress, per-cluster inputs")
struct RunRulesTests {
    @Test("percentages resolve against the started clusters: max_parallel rounds up (at least 1), max_failures down")
    func percentages() throws {
        #expect(RunLimit.percent(25).resolve(total: 10, roundingUp: true) == 3)
        #expect(RunLimit.percent(1).resolve(total: 10, roundingUp: true) == 1)
        #expect(RunLimit.percent(100).resolve(total: 7, roundingUp: true) == 7)
        #expect(RunLimit.percent(10).resolve(total: 15, roundingUp: false) == 1)
        #expect(RunLimit.percent(10).resolve(total: 5, roundingUp: false) == 0)
        #expect(RunLimit.count(4).resolve(total: 2, roundingUp: true) == 4)
        let s = RunStrategy(maxParallel: .percent(25), maxFailures: .percent(10))
        #expect(s.resolved(started: 1000) == (250, 100))
        #expect(RunStrategy().resolved(started: 12) == (12, Int.max))
    }

    @Test(
        "strategy values are checked, naming the field",
        arguments: [
            (#"{"max_parallel":0}"#, "field \"strategy.max_parallel\": must be at least 1"),
            (#"{"max_parallel":"0%"}"#, "field \"strategy.max_parallel\": a percentage must be between 1% and 100%"),
            (#"{"max_parallel":"150%"}"#, "field \"strategy.max_parallel\": a percentage must be between 1% and 100%"),
            (#"{"max_parallel":"abc"}"#, "field \"strategy.max_parallel\": must be an integer or a percentage"),
            (#"{"max_parallel":1.5}"#, "field \"strategy.max_parallel\": must be an integer or a percentage"),
            (#"{"max_failures":-1}"#, "field \"strategy.max_failures\": must be at least 0"),
            (#"{"max_failures":"-5%"}"#, "field \"strategy.max_failures\": must be an integer or a percentage"),
            (#"{"cluster_timeout":"soon"}"#, "field \"strategy.cluster_timeout\": must be a duration"),
            (#"{"cluster_timeout":"10ms"}"#, "field \"strategy.cluster_timeout\": must be between 1s and 366 days"),
            (#"[1]"#, "field \"strategy\": must be an object"),
        ])
    func badStrategy(json: String, message: String) throws {
        #expect {
            try RunStrategy(json: try JSONValue.parse(json))
        } throws: { error in
            (error as? ClaiflowError)?.message.hasPrefix(message) ?? false
        }
    }

    @Test("a good strategy round-trips as given")
    func strategyRoundTrip() throws {
        let s = try RunStrategy(
            json: try JSONValue.parse(#"{"max_parallel":"25%","max_failures":2,"cluster_timeout":"90s"}"#))
        #expect(s == RunStrategy(maxParallel: .percent(25), maxFailures: .count(2), clusterTimeout: .seconds(90)))
        #expect(try RunStrategy(json: s.json) == s)
        #expect(try RunStrategy(json: nil) == RunStrategy())
    }

    @Test("waves: never more than max_parallel released, the next released as one ends, succeeded when all did")
    func waves() {
        var p = RunProgress(total: 5, skipped: 1, strategy: RunStrategy(maxParallel: .count(2)))
        #expect(p.next() == .release(2))
        p.released(2)
        #expect(p.next() == .none)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .release(1))
        p.released(1)
        #expect(p.active == 2 && p.held == 2)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .release(1))
        p.released(1)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .release(1))
        p.released(1)
        #expect(p.state == .running)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .none)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .none)
        #expect(p.isFinished && p.state == .succeeded)
    }

    @Test("the threshold: more failures or expiries than max_failures stop the run and cancel what is held")
    func threshold() {
        var p = RunProgress(total: 6, skipped: 0, strategy: RunStrategy(maxParallel: .count(2), maxFailures: .count(1)))
        #expect(p.next() == .release(2))
        p.released(2)
        #expect(p.serviceEnded(.failed, wasHeld: false) == .release(1))
        p.released(1)
        #expect(p.state == .running)
        #expect(p.serviceEnded(.expired, wasHeld: false) == .cancelHeld)
        #expect(p.state == .stopped)
        p.heldCanceled(p.held)
        #expect(!p.isFinished)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .none)
        #expect(p.isFinished && p.state == .stopped)
        #expect(p.canceled == 3 && p.failures == 2 && p.succeeded == 1)
        #expect(p.stopMessage.contains("2 clusters failed or expired, more than max_failures (1)"))
    }

    @Test("failures within the threshold end the run failed; an operator's cancel ends it canceled")
    func failedAndCanceled() {
        var p = RunProgress(total: 2, skipped: 0, strategy: RunStrategy(maxFailures: .count(1)))
        #expect(p.next() == .release(2))
        p.released(2)
        #expect(p.serviceEnded(.failed, wasHeld: false) == .none)
        #expect(p.serviceEnded(.succeeded, wasHeld: false) == .none)
        #expect(p.state == .failed)

        var c = RunProgress(total: 3, skipped: 0, strategy: RunStrategy(maxParallel: .count(1)))
        c.released(1)
        #expect(c.cancel() == .cancelHeld)
        c.heldCanceled(c.held)
        #expect(c.state == .canceled && !c.isFinished)
        #expect(c.serviceEnded(.canceled, wasHeld: false) == .none)
        #expect(c.isFinished && c.state == .canceled)
        #expect(c.stopMessage == "the run was canceled before this cluster started")
    }

    @Test("an operator's cancel of a stopped run that is still ending makes it canceled")
    func cancelStopped() {
        var p = RunProgress(total: 3, skipped: 0, strategy: RunStrategy(maxParallel: .count(2), maxFailures: .count(0)))
        p.released(2)
        #expect(p.serviceEnded(.failed, wasHeld: false) == .cancelHeld)
        p.heldCanceled(p.held)
        #expect(p.state == .stopped)
        #expect(p.cancel() == .none)
        #expect(p.state == .canceled)
    }

    @Test("a run whose clusters are all skipped has finished at once, succeeded")
    func allSkipped() {
        var p = RunProgress(total: 0, skipped: 3, strategy: RunStrategy(maxParallel: .percent(50)))
        #expect(p.next() == .none)
        #expect(p.isFinished && p.state == .succeeded)
    }

    @Test("$cluster references are replaced anywhere in the inputs; a missing label is named")
    func inputs() throws {
        let labels = try ClusterLabels(validating: ["region": "eu", "example.com/tier": "web"])
        let inputs = try JSONValue.parse(
            #"{"a":"$cluster.uuid","b":["$cluster.name",{"c":"$cluster.labels.example.com/tier"}],"d":"x $cluster.name","e":1}"#)
        #expect(RunInputs.hasReferences(inputs))
        #expect(!RunInputs.hasReferences(try JSONValue.parse(#"{"a":"x","b":[1]}"#)))
        let out = try RunInputs.resolve(inputs, uuid: "c1", name: "prod", labels: labels)
        #expect(
            out
                == (try JSONValue.parse(#"{"a":"c1","b":["prod",{"c":"web"}],"d":"x $cluster.name","e":1}"#)))
        #expect {
            try RunInputs.resolve(.string("$cluster.labels.zone"), uuid: "c1", name: "p", labels: labels)
        } throws: { ($0 as? ClaiflowError)?.message == "it has no label \"zone\"" }
        #expect {
            try RunInputs.resolve(.string("$cluster.id"), uuid: "c1", name: "p", labels: labels)
        } throws: { ($0 as? ClaiflowError)?.message.contains("is not a cluster reference") ?? false }
    }
}
