import ArgumentParser
import HPCBridge

/// `hpcbridge check-params`: validate parameters as the service would, without submitting anything.
struct CheckParamsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-params",
        abstract: "Validate a parameters file against a pipeline's schema, or any JSON document against a schema.",
        discussion: """
        hpcbridge check-params PIPELINE PARAMS.json [--catalog DIR]
        hpcbridge check-params --schema SCHEMA.json DOC.json

        PARAMS.json may be bare parameters or a whole job request ({pipeline_name, parameters, ...}).
        Exit status: 0 valid; 1 invalid, one `POINTER: message` line per error on stdout; 2 unreadable input.
        """)

    @OptionGroup var site: SiteOptions

    @Option(name: .long, help: ArgumentHelp("A JSON Schema (draft 2020-12, hpcbridge dialect) to validate DOC.json against.", valueName: "SCHEMA.json"))
    var schema: String?

    @Flag(name: .long, help: "On success, print the parameters with defaults applied.")
    var printDefaults = false

    @Argument(help: ArgumentHelp("PIPELINE PARAMS.json, or DOC.json with --schema.", valueName: "args"))
    var arguments: [String] = []

    func validate() throws {
        if schema != nil, arguments.count != 1 { throw ValidationError("with --schema, give exactly one document: check-params --schema SCHEMA.json DOC.json") }
        if schema == nil, arguments.count != 2 { throw ValidationError("give a pipeline and a parameters file: check-params PIPELINE PARAMS.json") }
    }

    func run() throws {
        let result: ValidationResult
        if let schemaPath = schema {
            let schemaDocument = try readJSON(schemaPath)
            let compiled: JSONSchema
            do { compiled = try JSONSchema(schemaDocument) } catch {
                for issue in error.issues { printError("\(schemaPath): \(issue.location == .root ? "/" : issue.location.description): \(issue.message)") }
                throw ExitStatus.unreadable
            }
            result = SchemaValidator(schema: compiled).validate(try readJSON(arguments[0]))
        } else {
            let (pipelineName, paramsPath) = (arguments[0], arguments[1])
            let catalog: PipelineCatalog
            do {
                let directory = try site.catalog ?? BridgeConfig.load(path: site.configPath).catalogsDirectory
                catalog = try PipelineCatalog.load(directory: directory)
            } catch {
                printError("\(error)")
                throw ExitStatus.unreadable
            }
            let pipeline: Pipeline
            do { pipeline = try catalog.pipeline(named: pipelineName) } catch {
                printError("\(error)")
                throw ExitStatus.unreadable
            }
            var document = try readJSON(paramsPath)
            if JobRequest.isEnvelope(document) {
                if let named = document["pipeline_name"]?.stringValue, named != pipelineName {
                    printError("\(paramsPath): the request is for pipeline \(named), not \(pipelineName)")
                    throw ExitStatus.invalid
                }
                document = document["parameters"]!
            }
            result = pipeline.validate(parameters: document)
        }
        guard result.isValid else {
            for error in result.errors { print(error.description) }
            throw ExitStatus.invalid
        }
        if printDefaults { print(result.value.prettyJSON) } else { printError("valid") }
    }
}
