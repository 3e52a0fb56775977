// swift-tools-version: 6.2
import PackageDescription

/// The project's own code builds without warnings (dependencies are not held to this).
let strict: [SwiftSetting] = [.unsafeFlags(["-warnings-as-errors"])]

let package = Package(
    name: "hpcbridge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hpcbridge", targets: ["hpcbridge"]),
        .library(name: "HPCBridge", targets: ["HPCBridge"]),
        .library(name: "HPCBridgeServer", targets: ["HPCBridgeServer"]),
        .library(name: "HPCBridgeAPI", targets: ["HPCBridgeAPI"]),
        .library(name: "HPCBridgeWESAPI", targets: ["HPCBridgeWESAPI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-openapi-generator.git", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime.git", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird.git", from: "2.1.0"),
        .package(url: "https://github.com/apple/swift-openapi-urlsession.git", from: "1.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // NIOThreadPool: threads meant for blocking work (libslurm calls, log files), off Swift's cooperative pool.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        // The PostgreSQL store and the leader lease of several login nodes (issue 18).
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // TLS to a PostgreSQL store (`?sslmode=require`); already built as postgres-nio's dependency.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Benchmarks only: the load generator's HTTP client (keep-alive pools, unix sockets for slurmrestd).
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        .target(
            name: "CSlurmShim",
            cSettings: [.unsafeFlags(["-Wall", "-Wextra", "-Werror"])],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .target(
            name: "HPCBridge",
            dependencies: [
                "CSlurmShim",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "HPCBridgeAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            resources: [.copy("openapi.yaml")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "HPCBridgeWESAPI",
            dependencies: [
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
            ],
            resources: [.copy("openapi.yaml")],
            plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator")]
        ),
        .target(
            name: "HPCBridgeServer",
            dependencies: [
                "HPCBridge",
                "HPCBridgeAPI",
                "HPCBridgeWESAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("UI/Resources")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "hpcbridge",
            dependencies: [
                "HPCBridge",
                "HPCBridgeServer",
                "HPCBridgeAPI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "OpenAPIURLSession", package: "swift-openapi-urlsession"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "hpcbridge-bench",
            dependencies: [
                "HPCBridge",
                "CSlurmShim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Benchmarks/HPCBridgeBench",
            swiftSettings: strict
        ),
        .testTarget(
            name: "HPCBridgeTests",
            dependencies: [
                "HPCBridge",
                "HPCBridgeServer",
                "HPCBridgeAPI",
                "HPCBridgeWESAPI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
