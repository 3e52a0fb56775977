/// The shapes of hpcbridge's own YAML files (pipeline catalogs and the service config), written as JSON
/// Schemas and checked with the same validator that checks requests, so a misspelt key in a config file
/// is reported like a misspelt parameter: with its line, column and a "did you mean".
enum FileFormats {
    /// Names that end up in batch-script directive lines (`#SBATCH --account=...`): kept to characters
    /// that need no quoting anywhere.
    static let schedulerName = #"{"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$", "errorMessage": "must be 1-64 letters, digits, _ . or - (a name the scheduler accepts in a directive line)"}"#
    static let identifier = #"{"type": "string", "pattern": "^[a-z][a-z0-9_]{0,62}$", "errorMessage": "must be a lower-case identifier: a letter, then letters, digits or _ (at most 63)"}"#
    static let safeAbsolutePath = #"{"type": "string", "format": "absolute-path", "pattern": "^/[A-Za-z0-9_./+-]*$", "errorMessage": "must be an absolute path of letters, digits and _ . / + - only"}"#
    static let memory = #"{"type": ["string", "integer"], "pattern": "^[1-9][0-9]*[KMGTkmgt]?$", "minimum": 1, "errorMessage": "must be a memory size such as 512M, 16G or 1T (a bare number is megabytes)"}"#
    static let timeLimit = #"{"type": ["string", "integer"], "pattern": "^([0-9]+-)?[0-9]+(:[0-9]+){0,2}$", "minimum": 1, "errorMessage": "must be a time limit such as 90 (minutes), 08:00:00 or 2-00:00:00"}"#

    /// A pipeline catalog file (`config/pipelines/NAME.yaml`): either one batch script (`template`,
    /// `resources`, `outputs` at the top) or `steps`, each with its own template, resources and outputs,
    /// chained by `needs` and optionally scattered over the rows of a `sample_sheet`.
    static let pipeline = """
    {
      "type": "object",
      "additionalProperties": false,
      "required": ["name", "version", "description", "parameters"],
      "properties": {
        "name": \(identifier),
        "version": {"type": "string", "pattern": "^[0-9A-Za-z][0-9A-Za-z.+_-]{0,31}$", "errorMessage": "must be a version such as 1.2.0 (letters, digits, . + _ -)"},
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string", "minLength": 1, "x-allow-control-characters": true},
        "template": {"$ref": "#/$defs/template"},
        "resources": {"$ref": "#/$defs/resources"},
        "outputs": {"$ref": "#/$defs/outputs"},
        "parameters": {"type": "object"},
        "sample_sheet": {"type": "object", "description": "the JSON Schema of one row of the sample sheet (type: object, with a sample_id)"},
        "steps": {
          "type": "array",
          "minItems": 1,
          "maxItems": 50,
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "template"],
            "properties": {
              "name": \(identifier),
              "title": {"type": "string", "minLength": 1},
              "description": {"type": "string", "minLength": 1, "x-allow-control-characters": true},
              "template": {"$ref": "#/$defs/template"},
              "needs": {"type": "array", "uniqueItems": true, "items": \(identifier)},
              "scatter": {"enum": ["sample_sheet"], "errorMessage": "must be sample_sheet: one array task per row of the run's sample sheet"},
              "resources": {"$ref": "#/$defs/resources"},
              "outputs": {"$ref": "#/$defs/outputs"}
            }
          }
        }
      },
      "if": {"required": ["steps"]},
      "then": {
        "properties": {
          "template": {"not": {}, "errorMessage": "a pipeline with steps names a template per step, not one at the top; move it into its step"},
          "outputs": {"not": {}, "errorMessage": "a pipeline with steps declares outputs per step; move them into the step that writes them"}
        }
      },
      "else": {"required": ["template", "resources", "outputs"]},
      "$defs": {
        "template": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9_./-]*[.]mustache$", "errorMessage": "must be a file name under the templates directory ending in .mustache"},
        "resources": {
          "type": "object",
          "additionalProperties": false,
          "required": ["defaults", "bounds"],
          "properties": {
            "defaults": {
              "type": "object",
              "additionalProperties": false,
              "required": ["cpus", "memory", "time_limit"],
              "properties": {
                "cpus": {"type": "integer", "minimum": 1},
                "gpus": {"type": "integer", "minimum": 0},
                "memory": \(memory),
                "time_limit": \(timeLimit),
                "partition": \(schedulerName),
                "qos": \(schedulerName)
              }
            },
            "bounds": {
              "type": "object",
              "additionalProperties": false,
              "required": ["cpus", "memory", "time_limit"],
              "properties": {
                "cpus": {"$ref": "#/$defs/countRange"},
                "gpus": {"$ref": "#/$defs/countRange"},
                "memory": {"type": "object", "additionalProperties": false, "required": ["max"], "properties": {"min": \(memory), "max": \(memory)}},
                "time_limit": {"type": "object", "additionalProperties": false, "required": ["max"], "properties": {"min": \(timeLimit), "max": \(timeLimit)}}
              }
            }
          }
        },
        "outputs": {
          "type": "array",
          "minItems": 1,
          "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["name", "path", "description"],
            "properties": {
              "name": \(identifier),
              "path": {"type": "string", "pattern": "^[A-Za-z0-9_{][A-Za-z0-9_./{} -]*$", "errorMessage": "must be a relative path inside the run directory; it may use {{params.NAME}} (and {{row.FIELD}} in a scatter step)"},
              "description": {"type": "string", "x-allow-control-characters": true},
              "when": {"type": "string", "pattern": "^params[.][a-z][a-z0-9_]*$", "errorMessage": "must name a parameter, like params.design: the output exists only when it is set"}
            }
          }
        },
        "countRange": {"type": "object", "additionalProperties": false, "required": ["max"], "properties": {"min": {"type": "integer", "minimum": 0}, "max": {"type": "integer", "minimum": 0}}}
      }
    }
    """

    /// SHA-256 hashes (hex) of tokens declared in the config (`hpcbridge token hash` prints one).
    static let tokenHashes = #"{"type": "array", "uniqueItems": true, "items": {"type": "string", "pattern": "^[0-9a-f]{64}$", "errorMessage": "must be the 64 hex digits `hpcbridge token hash` prints, not a token"}}"#

    /// The service config (`config/hpcbridge.yaml`).
    static let config = """
    {
      "type": "object",
      "additionalProperties": false,
      "required": ["catalogs", "templates", "references", "clusters", "research_groups"],
      "properties": {
        "listen": {"type": "string", "pattern": "^[^:]+:[0-9]{1,5}$", "default": "127.0.0.1:8080", "errorMessage": "must be HOST:PORT, such as 127.0.0.1:8080"},
        "store": {"type": "string", "minLength": 1, "default": "/var/lib/hpcbridge/hpcbridge.sqlite", "description": "the SQLite job store, relative to this file"},
        "catalogs": {"type": "string", "minLength": 1, "description": "pipeline catalog directory, relative to this file"},
        "templates": {"type": "string", "minLength": 1, "description": "template directory, relative to this file"},
        "admin_token_sha256": \(tokenHashes),
        "public_url": {"type": "string", "pattern": "^https?://[^/?#]+(/[^?#]*)?$",
                       "errorMessage": "must be the service's address as clients reach it, such as https://hpc.example.org/hpcbridge",
                       "description": "the base of the absolute URLs in answers (GA4GH WES log URLs); without it, each request's Host"},
        "wes": {
          "type": "object",
          "additionalProperties": false,
          "description": "how GET /ga4gh/wes/v1/service-info describes this service",
          "properties": {
            "service_id": {"type": "string", "pattern": "^[a-z0-9]+([.-][a-z0-9]+)*$", "maxLength": 255,
                           "errorMessage": "must be a reverse domain name in lowercase, such as org.example.hpc.hpcbridge"},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "organization": {
              "type": "object",
              "additionalProperties": false,
              "required": ["name", "url"],
              "properties": {"name": {"type": "string", "minLength": 1}, "url": {"type": "string", "pattern": "^https?://"}}
            },
            "contact_url": {"type": "string", "pattern": "^(https?://|mailto:)"},
            "auth_instructions_url": {"type": "string", "pattern": "^https?://"}
          },
          "default": {}
        },
        "web": {
          "type": "object",
          "additionalProperties": false,
          "description": "the web pages under /ui",
          "properties": {
            "session_hours": {"type": "number", "exclusiveMinimum": 0, "maximum": 720, "default": 8,
                              "description": "how long a sign-in lasts before the pages ask for the token again"}
          }
        },
        "http": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "idle_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, "default": 60,
                                     "description": "close a connection that sends no complete request part for this long"},
            "body_timeout_seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 600, "default": 30,
                                     "description": "answer 408 when a request body is still arriving after this long"}
          },
          "default": {}
        },
        "log": {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "format": {"enum": ["text", "logfmt", "json"], "default": "text"},
            "level": {"enum": ["trace", "debug", "info", "notice", "warning", "error", "critical"], "default": "info"}
          },
          "default": {}
        },
        "references": {
          "type": "object",
          "propertyNames": {"pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
          "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "required": ["kind", "fasta"],
            "properties": {
              "kind": {"enum": ["genome", "transcriptome"]},
              "description": {"type": "string", "x-allow-control-characters": true},
              "fasta": \(safeAbsolutePath),
              "bwa_index": \(safeAbsolutePath),
              "salmon_index": \(safeAbsolutePath),
              "annotation": \(safeAbsolutePath),
              "tx2gene": \(safeAbsolutePath)
            }
          }
        },
        "clusters": {
          "type": "object",
          "minProperties": 1,
          "propertyNames": {"pattern": "^[a-z][a-z0-9_-]{0,31}$"},
          "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "required": ["scheduler"],
            "properties": {
              "scheduler": {"enum": ["slurm", "pbs"]},
              "mode": {"enum": ["auto", "library", "cli"], "default": "auto"},
              "reconcile_interval_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 10},
              "submission_grace_seconds": {"type": "number", "minimum": 0, "default": 60},
              "lost_after_seconds": {"type": "number", "minimum": 0, "default": 300,
                                     "description": "how long a job the controller and accounting have forgotten may go without an exit-code file before it is marked lost"}
            }
          }
        },
        "research_groups": {
          "type": "object",
          "minProperties": 1,
          "propertyNames": {"pattern": "^[a-z][a-z0-9_]{0,62}$"},
          "additionalProperties": {
            "type": "object",
            "additionalProperties": false,
            "required": ["cluster", "account", "run_root", "allowed_pipelines"],
            "properties": {
              "description": {"type": "string", "x-allow-control-characters": true},
              "cluster": {"type": "string"},
              "account": \(schedulerName),
              "partition": \(schedulerName),
              "qos": \(schedulerName),
              "run_root": \(safeAbsolutePath),
              "input_roots": {"type": "array", "minItems": 1, "uniqueItems": true, "items": \(safeAbsolutePath),
                              "description": "directories the group's jobs may read inputs from; every path parameter must lie under one"},
              "allowed_pipelines": {"type": "array", "uniqueItems": true, "items": \(identifier)},
              "token_sha256": \(tokenHashes),
              "quotas": {
                "type": "object",
                "additionalProperties": false,
                "properties": {
                  "max_active_jobs": {"type": "integer", "minimum": 1, "default": 100},
                  "submissions_per_minute": {"type": "integer", "minimum": 1, "default": 60}
                },
                "default": {}
              }
            }
          }
        }
      }
    }
    """

    /// Validates a YAML document against one of the formats above; every problem with its position.
    static func check(_ document: YAMLDocument, against format: String, at base: JSONPointer = .root) -> (JSONValue, [FileIssue]) {
        // The formats are constants of this file; a failure here is a programming error caught by tests.
        let schema = try! JSONSchema(try! JSONValue.parse(format))
        let target = document.value.value(at: base) ?? .null
        let result = SchemaValidator(schema: schema).validate(target)
        let issues = result.errors.map { error in
            let pointer = JSONPointer(tokens: base.tokens + error.pointer.tokens)
            let name = pointer.tokens.last.map { "\"\($0)\" " } ?? ""
            return FileIssue(document.location(of: pointer), "\(name)\(error.message)")
        }
        return (result.value, issues)
    }
}
