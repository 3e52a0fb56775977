import Foundation
import Logging
import Testing
@testable import HPCBridge

/// SIGHUP reloads: a good catalog is swapped in at once, a broken one keeps the old one serving.
@Suite("Reloading catalogs and templates")
struct SiteReloadTests {
    /// A service whose catalogs are a scratch copy the test may edit.
    func service() throws -> (TestService, String) {
        let catalogs = try TestPaths.scratchDirectory("catalogs")
        try TestPaths.copyCatalogs(to: catalogs)
        let service = try TestService(scheduler: FakeScheduler()) { config in
            config.replacingOccurrences(of: "catalogs: \(TestPaths.root)/config/pipelines", with: "catalogs: \(catalogs)")
        }
        return (service, catalogs)
    }

    func reloader(_ service: TestService) -> SiteReloader {
        SiteReloader(holder: service.assembly.siteHolder, configPath: service.directory + "/hpcbridge.yaml", catalogDirectory: nil,
                     metrics: service.assembly.metrics, logger: Logger(label: "reload") { _ in CapturingLogHandler(sink: service.logs) })
    }

    @Test("a changed catalog is served after a reload; requests accepted afterwards use it")
    func good() async throws {
        let (service, catalogs) = try service()
        let path = catalogs + "/gatk_variant_calling.yaml"
        try TestPaths.write(try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "version: 1.0.0", with: "version: 1.1.0"), to: path)
        #expect(service.assembly.service.site.catalog.pipelines["gatk_variant_calling"]?.version == "1.0.0", "nothing changes before the reload")
        #expect(reloader(service).reload())
        #expect(service.assembly.service.site.catalog.pipelines["gatk_variant_calling"]?.version == "1.1.0")
        let (job, _, _) = try await service.assembly.service.submit(try TestSite.example("gatk_variant_calling"), by: .admin, idempotencyKey: nil)
        #expect(job.pipelineVersion == "1.1.0")
        #expect(MetricsTests.value(service.assembly.metrics.exposition(), #"hpcbridge_reloads_total{result="ok"}"#) == 1)
    }

    @Test("a broken catalog keeps the old one serving, logs file:line:column and counts the failure")
    func broken() throws {
        let (service, catalogs) = try service()
        let path = catalogs + "/gatk_variant_calling.yaml"
        try TestPaths.write(try String(contentsOfFile: path, encoding: .utf8)
            .replacingOccurrences(of: "version: 1.0.0", with: "version: 2.0.0")
            .replacingOccurrences(of: "      minimum: 0\n      default: 30\n", with: "      minimun: 0\n      default: 30\n"), to: path)
        #expect(reloader(service).reload() == false)
        #expect(service.assembly.service.site.catalog.pipelines["gatk_variant_calling"]?.version == "1.0.0")
        #expect(service.logs.all.contains { $0.range(of: #"gatk_variant_calling\.yaml:\d+:7: unknown keyword "minimun""#, options: .regularExpression) != nil },
                "\(service.logs.all.suffix(3))")
        #expect(MetricsTests.value(service.assembly.metrics.exposition(), #"hpcbridge_reloads_total{result="failed"}"#) == 1)
    }

    @Test("a reload that would change the clusters is refused: that needs a restart")
    func clusters() throws {
        let (service, _) = try service()
        let config = service.directory + "/hpcbridge.yaml"
        try TestPaths.write(try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "mode: auto", with: "mode: cli"), to: config)
        #expect(reloader(service).reload() == false)
        #expect(service.logs.all.contains { $0.contains("reload refused: clusters changed") })
    }
}
