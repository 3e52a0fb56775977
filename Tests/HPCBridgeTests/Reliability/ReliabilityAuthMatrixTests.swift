import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import HPCBridge

/// Issue 7, part 6: every route of the contract against every kind of credential, on a real `serve`
/// process: the exact status of each cell, no difference between "another group's job" and "no such job",
/// and no token in the log afterwards.
@Suite("Reliability: isolation and auth matrix", .enabled(if: LiveCluster.enabled), .serialized)
struct ReliabilityAuthMatrixTests {
    /// The credentials of one column: what goes in the Authorization header.
    enum Credential: CaseIterable, CustomStringConvertible {
        case none, notBearer, bearerWithoutToken, malformed, wrongSecret, revoked, otherGroup, ownGroup, admin

        /// The case's name (not `"\(self)"`, which calls this property again: a failing expectation that
        /// named a credential overflowed the stack instead of reporting).
        var description: String {
            switch self {
            case .none: "none"
            case .notBearer: "notBearer"
            case .bearerWithoutToken: "bearerWithoutToken"
            case .malformed: "malformed"
            case .wrongSecret: "wrongSecret"
            case .revoked: "revoked"
            case .otherGroup: "otherGroup"
            case .ownGroup: "ownGroup"
            case .admin: "admin"
            }
        }
        var isValid: Bool { [.otherGroup, .ownGroup, .admin].contains(self) }
    }

    /// One row: a request and the status expected for each valid credential (anything invalid is 401 on a
    /// protected route, and the route's own answer on a public one).
    struct Route: CustomStringConvertible {
        var method: HTTPMethod
        var path: String
        var body: JSONValue? = nil
        var isPublic = false
        /// Streams (events, followed logs): only the status line and headers are read.
        var streams = false
        var other: Int
        var own: Int
        var admin: Int
        var description: String { "\(method) \(path)" }

        func expected(for credential: Credential) -> Int {
            if isPublic { return own }
            switch credential {
            case .otherGroup: return other
            case .ownGroup: return own
            case .admin: return admin
            default: return 401
            }
        }
    }

    static let ownGroup = "cancer_genomics_lab"

    static var ownRequest: JSONValue { ReliabilityCrashTests.request(0, run: "auth") }

    @Test("every route x every credential answers the exact status; another group's job looks like no job; no token reaches the log")
    func matrix() async throws {
        try ReliabilityRun.makeQueueOnlyPartition()
        let service = try ServeProcess(root: try TestPaths.scratchDirectory("auth"), edits: ReliabilityRun.queueOnlyEdits)
        try await service.start()
        defer { service.stop() }
        let own = try service.token(group: Self.ownGroup)
        let other = try service.token(group: "systems_biology_lab")
        let admin = try service.token(group: nil)
        let revoked = try service.token(group: Self.ownGroup)
        let revokedID = String(revoked.split(separator: "_")[1])
        #expect(try service.command(["token", "revoke", revokedID]).status == 0)

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await Self.run(service: service, client: client, own: own, other: other, admin: admin, revoked: revoked)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func run(service: ServeProcess, client: HTTPClient, own: String, other: String, admin: String, revoked: String) async throws {
        let tokens: [Credential: String] = [.ownGroup: own, .otherGroup: other, .admin: admin, .revoked: revoked]
        func header(_ credential: Credential) -> String? {
            switch credential {
            case .none: return nil
            case .notBearer: return "Basic " + Data("admin:admin".utf8).base64EncodedString()
            case .bearerWithoutToken: return "Bearer "
            case .malformed: return "Bearer hb_zz_" + String(repeating: "A", count: 43)
            case .wrongSecret: return "Bearer " + own.dropLast(4) + (own.hasSuffix("AAAA") ? "BBBB" : "AAAA")
            default: return "Bearer " + tokens[credential]!
            }
        }
        func send(_ method: HTTPMethod, _ path: String, _ credential: Credential, body: JSONValue? = nil, streams: Bool = false) async throws -> (status: Int, body: String) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(service.port)\(path)")
            request.method = method
            if let value = header(credential) { request.headers.add(name: "Authorization", value: value) }
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: body.jsonText))
            }
            let response = try await client.execute(request, timeout: .seconds(30))
            // A stream stays open: its status is the answer, and the body is left unread.
            if streams && response.status == .ok { return (200, "") }
            return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 4 << 20)))
        }

        // The job every row points at, owned by the own group; cancel rows get a fresh one per cell.
        let created = try await send(.POST, "/v1/jobs", .ownGroup, body: ownRequest)
        #expect(created.status == 201, "\(created.body)")
        let id = try #require(try JSONValue.parse(Data(created.body.utf8))["id"]?.stringValue)

        let routes: [Route] = [
            Route(method: .POST, path: "/v1/jobs", body: ownRequest, other: 403, own: 201, admin: 201),
            Route(method: .GET, path: "/v1/jobs", other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/jobs?research_group=\(ownGroup)", other: 403, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/jobs/\(id)", other: 404, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/jobs/\(id)/logs", other: 404, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/jobs/\(id)/logs?follow=true", streams: true, other: 404, own: 200, admin: 200),
            Route(method: .POST, path: "/v1/jobs/{fresh}/cancel", other: 404, own: 202, admin: 202),
            Route(method: .GET, path: "/v1/events", streams: true, other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/events?job_id=\(id)", streams: true, other: 404, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/pipelines", isPublic: true, other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/v1/pipelines/gatk_variant_calling", isPublic: true, other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/healthz", isPublic: true, other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/readyz", isPublic: true, other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/metrics", isPublic: true, other: 200, own: 200, admin: 200),
            Route(method: .GET, path: "/openapi.yaml", isPublic: true, other: 200, own: 200, admin: 200),
        ]
        var cells = 0
        var passed = 0
        for route in routes {
            for credential in Credential.allCases {
                var path = route.path
                if path.contains("{fresh}") {
                    let fresh = try await send(.POST, "/v1/jobs", .ownGroup, body: ownRequest)
                    path = path.replacingOccurrences(of: "{fresh}", with: try #require(try JSONValue.parse(Data(fresh.body.utf8))["id"]?.stringValue))
                }
                let answer = try await send(route.method, path, credential, body: route.body, streams: route.streams)
                let expected = route.expected(for: credential)
                cells += 1
                if answer.status == expected { passed += 1 }
                #expect(answer.status == expected, "\(route) with \(credential): \(answer.status), expected \(expected): \(answer.body.prefix(300))")
                if !route.isPublic && !credential.isValid {
                    #expect((try? JSONValue.parse(Data(answer.body.utf8)))?["status"] == 401, "\(route) with \(credential): a 401 is a problem document")
                }
                if route.path == "/v1/jobs" && route.method == .GET && credential == .otherGroup {
                    #expect(!answer.body.contains(id), "another group's listing shows the job")
                }
            }
        }

        // No existence leak: another group's job answers exactly like an id that was never used.
        let unknown = UUID().uuidString.lowercased()
        for (method, template) in [(HTTPMethod.GET, "/v1/jobs/ID"), (.GET, "/v1/jobs/ID/logs"), (.POST, "/v1/jobs/ID/cancel"), (.GET, "/v1/events?job_id=ID")] {
            let theirs = try await send(method, template.replacingOccurrences(of: "ID", with: id), .otherGroup)
            let nobody = try await send(method, template.replacingOccurrences(of: "ID", with: unknown), .otherGroup)
            #expect(theirs.status == 404 && nobody.status == 404)
            func masked(_ text: String, _ id: String) -> String {
                text.replacingOccurrences(of: id, with: "ID").replacingOccurrences(of: id.uppercased(), with: "ID")
            }
            #expect(masked(theirs.body, id) == masked(nobody.body, unknown),
                    "\(template): \(theirs.body) vs \(nobody.body)")
        }

        let log = service.log
        #expect(log.contains("GET"), "the request log is on")
        for token in [own, other, admin, revoked] {
            #expect(!log.contains(String(token.split(separator: "_", maxSplits: 2)[2])), "a token secret reached serve.log")
        }
        _ = try await HPCBridgeTests.run("/usr/bin/env", ["scancel", "-p", ReliabilityRun.queueOnlyPartition])
        ReliabilityRun.record("auth-matrix", ["routes": .number(Double(routes.count)), "credentials": .number(Double(Credential.allCases.count)),
                                              "cells": .number(Double(cells)), "cells_passed": .number(Double(passed))])
    }
}
