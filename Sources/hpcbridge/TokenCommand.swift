import ArgumentParser
import Foundation
import HPCBridge

/// `hpcbridge token create|revoke|list`: API tokens, managed by admins on the login node.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, revoke and list API tokens (stored only as hashes in the job store).",
        subcommands: [Create.self, Revoke.self, List.self, Hash.self])

    /// Opens the store the config names.
    static func tokens(_ site: SiteOptions) throws -> (APITokens, BridgeConfig) {
        let config: BridgeConfig
        do { config = try BridgeConfig.load(path: site.configPath) } catch {
            printError("\(error)")
            throw ExitStatus.unreadable
        }
        do { return (APITokens(store: try JobStore(path: config.storePath)), config) } catch {
            printError("cannot open the job store at \(config.storePath): \(error); check `store` in the config and its directory's permissions")
            throw ExitStatus.unreadable
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it once.")
        @OptionGroup var site: SiteOptions
        @Option(name: .long, help: ArgumentHelp("The research group the token acts for.", valueName: "NAME"))
        var group: String?
        @Flag(name: .long, help: "An admin token (sees every group).")
        var admin = false
        @Option(name: .long, help: ArgumentHelp("A note on who or what uses it.", valueName: "TEXT"))
        var label: String?

        func validate() throws {
            if (group == nil) == !admin { throw ValidationError("give either --group NAME or --admin") }
        }

        func run() throws {
            let (tokens, config) = try TokenCommand.tokens(site)
            if let group, config.groups[group] == nil {
                printError("no research group \"\(group)\"\(EditDistance.hint(for: group, among: config.groups.keys.sorted())); groups: \(config.groups.keys.sorted().joined(separator: ", "))")
                throw ExitStatus.invalid
            }
            let (token, entry) = try tokens.create(group: group, label: label)
            print(token)
            printError("token \(entry.id) for \(group ?? "admin") created; it is shown only now, store it safely")
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by its id (the 8 characters after hb_).")
        @OptionGroup var site: SiteOptions
        @Argument(help: "The token id.")
        var id: String

        func run() throws {
            let (tokens, _) = try TokenCommand.tokens(site)
            guard try tokens.revoke(id: id) else {
                printError("no active token \(id); `hpcbridge token list` shows them")
                throw ExitStatus.invalid
            }
            // A running service sees the change at its next check of the token table (every 0.1 s):
            // return only once it has had time to, so a revocation is in force when the command is done.
            let (seconds, attoseconds) = TokenCache.revocationSettles.components
            Thread.sleep(forTimeInterval: Double(seconds) + Double(attoseconds) / 1e18)
            print("revoked \(id)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var site: SiteOptions

        func run() throws {
            let (tokens, _) = try TokenCommand.tokens(site)
            let formatter = ISO8601DateFormatter()
            print("ID\tGROUP\tCREATED\tREVOKED\tLABEL")
            for entry in try tokens.list() {
                print([entry.id, entry.researchGroup ?? "(admin)", formatter.string(from: entry.createdAt),
                       entry.revokedAt.map(formatter.string(from:)) ?? "-", entry.label ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Hash: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the SHA-256 of a token read from stdin, for admin_token_sha256 or a group's token_sha256 in the config.")

        func run() throws {
            let token = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard token.count >= 32 else {
                printError("a token needs at least 32 characters (read \(token.count) from stdin); make one with `openssl rand -base64 32`")
                throw ExitStatus.invalid
            }
            print(APITokens.configHash(of: token))
        }
    }
}
