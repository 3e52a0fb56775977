/// Why a batch script could not be rendered. Each case says what to change.
public enum RenderError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A value meant for a directive line holds a character outside the allowlist.
    case unsafeDirective(directive: String, value: String)
    /// A value contains a NUL byte, which no bash script can carry.
    case nulByte(pointer: String)
    /// The group may not run this pipeline.
    case pipelineNotAllowed(pipeline: String, group: String)
    /// A parameter names a reference the registry does not have.
    case unknownReference(parameter: String, name: String, kind: String)
    /// A declared output path left the run directory or contains unsafe characters once rendered.
    case unsafeOutputPath(output: String, path: String)
    /// A template is missing.
    case missingTemplate(String)

    public var description: String {
        switch self {
        case .unsafeDirective(let directive, let value):
            return "the value \(JSONValue.quote(String(value.prefix(80)))) cannot go into the \(directive) directive: only letters, digits and _ . - : / = + , @ % are allowed there; fix it in the config or catalog"
        case .nulByte(let pointer):
            return "\(pointer): contains a NUL byte, which a batch script cannot carry"
        case .pipelineNotAllowed(let pipeline, let group):
            return "research group \"\(group)\" may not run \(pipeline); add it to allowed_pipelines of the group in the config"
        case .unknownReference(let parameter, let name, let kind):
            return "/\(parameter): names the \(kind) \"\(name)\", which the site reference registry does not have; add it under references in the config"
        case .unsafeOutputPath(let output, let path):
            return "output \"\(output)\" renders to \(JSONValue.quote(path)), which is not a safe relative path inside the run directory; restrict the parameters it uses"
        case .missingTemplate(let path):
            return "template \(path) does not exist; check the templates directory and the pipeline's template"
        }
    }
}
