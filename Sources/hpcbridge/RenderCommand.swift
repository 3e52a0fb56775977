import ArgumentParser
import Foundation
import HPCBridge

/// `hpcbridge render`: print the exact batch script a request would submit.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Validate a request and print the batch script it would submit.",
        discussion: """
        PARAMS.json may be bare parameters or a whole job request ({pipeline_name, parameters, research_group,
        description, resources}). The group's account, partition and qos come from the config. The same
        request and job id always give the same bytes.
        Exit status: 0 printed; 1 invalid request (one `POINTER: message` line per error); 2 unreadable input.
        """)

    @OptionGroup var site: SiteOptions

    @Argument(help: "The pipeline to run.")
    var pipeline: String

    @Argument(help: ArgumentHelp("The parameters or the whole request, as JSON ('-' reads stdin).", valueName: "PARAMS.json"))
    var parameters: String

    @Option(name: .long, help: ArgumentHelp("The research group submitting.", valueName: "NAME"))
    var group: String

    @Option(name: .long, help: "The scheduler to render for (default: the group's cluster's).")
    var scheduler: ClusterConfig.Scheduler?

    @Option(name: .long, help: ArgumentHelp("The hpcbridge job id (default: a new random UUID).", valueName: "UUID"))
    var jobID: String?

    @Option(name: .long, help: ArgumentHelp("A description stored with the job (default: the request's).", valueName: "TEXT"))
    var description: String?

    func run() throws {
        let loaded: Site
        do { loaded = try Site.load(configPath: site.configPath, catalogDirectory: site.catalog) } catch {
            printError("\(error)")
            throw ExitStatus.unreadable
        }
        let document = try readJSON(parameters)
        var request = JobRequest(pipelineName: pipeline, parameters: document, researchGroup: group, description: description)
        if JobRequest.isEnvelope(document) {
            do {
                let envelope = try JobRequest(document: document)
                if envelope.pipelineName != pipeline || envelope.researchGroup != group {
                    printError("\(parameters): the request is for \(envelope.pipelineName) by \(envelope.researchGroup), not \(pipeline) by \(group)")
                    throw ExitStatus.invalid
                }
                request = envelope
                if let description { request.description = description }
            } catch let failure as HPCBridge.ValidationFailure {
                for error in failure.errors { print(error.description) }
                throw ExitStatus.invalid
            }
        }
        guard let id = jobID.map({ UUID(uuidString: $0) }) ?? UUID() else {
            throw ValidationError("--job-id must be a UUID such as 123e4567-e89b-12d3-a456-426614174000")
        }
        do {
            let script = try loaded.renderer.render(JobPlanner(site: loaded).plan(request, jobID: id, scheduler: scheduler))
            FileHandle.standardOutput.write(Data(script.text.utf8))
        } catch JobPlanner.Refusal.invalid(let failure) {
            for error in failure.errors { print(error.description) }
            throw ExitStatus.invalid
        } catch {
            printError("\(error)")
            throw ExitStatus.invalid
        }
    }
}

extension ClusterConfig.Scheduler: ExpressibleByArgument {}
