// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "claiflow",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "claiflow", targets: ["claiflow"]),
        .executable(name: "claiflow-bench", targets: ["ClaiflowBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.8.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: ["YAML"]),
        // Web console pages (issue 16).
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The operator API client, generated from openapi.yaml by scripts/generate-openapi-client.sh.
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/swift-server/swift-openapi-async-http-client", from: "1.5.0"),
    ],
    targets: [
        .target(name: "ClaiflowCore"),
        .target(name: "ClaiflowQuery", dependencies: ["ClaiflowCore"]),
        .systemLibrary(name: "CJQ", providers: [.apt(["libjq-dev"])]),
        .target(name: "ClaiflowJQ", dependencies: ["CJQ", "ClaiflowCore"]),
        .target(name: "ClaiflowSchema", dependencies: ["ClaiflowCore"]),
        .target(name: "ClaiflowFlow", dependencies: ["ClaiflowCore", "ClaiflowJQ"]),
        .target(
            name: "ClaiflowConfiguration",
            dependencies: [
                "ClaiflowCore",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "ClaiflowStore",
            dependencies: [
                "ClaiflowCore", "ClaiflowQuery",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Resources/default-templates.json")]
        ),
        .target(
            name: "ClaiflowGRPC",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]
        ),
        .target(
            name: "ClaiflowServer",
            dependencies: [
                "ClaiflowGRPC",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                "ClaiflowCore", "ClaiflowQuery", "ClaiflowStore", "ClaiflowSchema", "ClaiflowFlow", "ClaiflowConfiguration",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "JWTKit", package: "jwt-kit"),
                "ClaiflowJQ",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/console")]
        ),
        .target(
            name: "ClaiflowAgentCommands",
            dependencies: [
                "ClaiflowCore", "ClaiflowFlow",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system", condition: .when(platforms: [.linux])),
            ]
        ),
        .target(
            name: "ClaiflowAgent",
            dependencies: [
                "ClaiflowCore", "ClaiflowFlow", "ClaiflowAgentCommands", "ClaiflowConfiguration",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Install manifests of the agent (issue 15 B): RBAC derived from the command catalog.
        .target(name: "ClaiflowInstall", dependencies: ["ClaiflowCore", "ClaiflowAgent", "ClaiflowAgentCommands"]),
        // The operator API client generated from the server's OpenAPI document (committed; see
        // scripts/generate-openapi-client.sh).
        .target(
            name: "ClaiflowAPIClient",
            dependencies: [.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")],
            exclude: ["openapi-generator-config.yaml", "Generated/openapi.yaml.sha256"]
        ),
        // The operator CLI's logic: contexts, output formats, waiting; talks to the server only
        // through ClaiflowAPIClient.
        .target(
            name: "ClaiflowCLI",
            dependencies: [
                "ClaiflowCore", "ClaiflowAPIClient",
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIAsyncHTTPClient", package: "swift-openapi-async-http-client"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "claiflow",
            dependencies: [
                "ClaiflowCLI", "ClaiflowAPIClient", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                "ClaiflowCore", "ClaiflowServer", "ClaiflowStore", "ClaiflowAgent", "ClaiflowAgentCommands", "ClaiflowFlow",
                "ClaiflowConfiguration", "ClaiflowInstall",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "ClaiflowBench",
            dependencies: [
                "ClaiflowCore", "ClaiflowServer", "ClaiflowStore", "ClaiflowFlow", "ClaiflowGRPC",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .target(
            name: "ClaiflowTestSupport",
            dependencies: [
                "ClaiflowCore", "ClaiflowStore", "ClaiflowConfiguration", .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // A fake Kubernetes API server (REST and the pods/exec WebSocket) for the agent tests.
        .target(
            name: "ClaiflowFakeKubernetes",
            dependencies: [
                "ClaiflowCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Tests/ClaiflowFakeKubernetes"
        ),
        .testTarget(name: "ClaiflowCoreTests", dependencies: ["ClaiflowCore"]),
        .testTarget(
            name: "ClaiflowAgentCommandsTests",
            dependencies: [
                "ClaiflowAgentCommands", "ClaiflowCore", "ClaiflowFlow", "ClaiflowStore", "ClaiflowTestSupport",
                "ClaiflowFakeKubernetes",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ClaiflowAgentTests",
            dependencies: [
                "ClaiflowAgent", "ClaiflowAgentCommands", "ClaiflowServer", "ClaiflowStore", "ClaiflowCore", "ClaiflowFlow",
                "ClaiflowTestSupport", "ClaiflowFakeKubernetes", "ClaiflowConfiguration", "ClaiflowAPIClient", "ClaiflowCLI",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(
            name: "ClaiflowInstallTests",
            dependencies: [
                "ClaiflowInstall", "ClaiflowAgent", "ClaiflowAgentCommands", "ClaiflowServer", "ClaiflowStore", "ClaiflowCore",
                "ClaiflowTestSupport",
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .testTarget(name: "ClaiflowQueryTests", dependencies: ["ClaiflowQuery"]),
        .testTarget(
            name: "ClaiflowCLITests",
            dependencies: [
                "ClaiflowCLI", "ClaiflowAPIClient", .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                "ClaiflowCore", "ClaiflowTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(name: "ClaiflowJQTests", dependencies: ["ClaiflowJQ", "ClaiflowCore"]),
        .testTarget(name: "ClaiflowSchemaTests", dependencies: ["ClaiflowSchema", "ClaiflowCore", "ClaiflowStore"]),
        .testTarget(name: "ClaiflowFlowTests", dependencies: ["ClaiflowFlow", "ClaiflowJQ", "ClaiflowCore", "ClaiflowStore"]),
        .testTarget(
            name: "ClaiflowStoreTests", dependencies: ["ClaiflowStore", "ClaiflowCore", "ClaiflowQuery", "ClaiflowTestSupport"]),
        .testTarget(
            name: "ClaiflowServerTests",
            dependencies: [
                "ClaiflowServer", "ClaiflowStore", "ClaiflowCore", "ClaiflowQuery", "ClaiflowTestSupport", "ClaiflowGRPC",
                "ClaiflowConfiguration",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
