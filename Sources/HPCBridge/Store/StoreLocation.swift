import Foundation

/// Where the job store lives, as the config's `store:` says it: a SQLite file (one login node, the
/// default), or a PostgreSQL database shared by several login nodes (`postgres://USER@HOST:PORT/DATABASE`).
///
/// A PostgreSQL password never sits in the config, which is often under version control: it comes from
/// `$HPCBRIDGE_STORE_PASSWORD` or from the file `store_password_file` names; a URL that carries one is
/// refused with that advice.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(PostgresLocation)

    public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public var username: String
        public var database: String
        public var password: String?
        /// `?sslmode=require` (or `verify-full`): TLS to the server; without it, plain TCP (loopback, or a
        /// network the site trusts).
        public var requiresTLS: Bool

        /// The location without the password, for logs and errors.
        public var description: String { "postgres://\(username)@\(host):\(port)/\(database)\(requiresTLS ? "?sslmode=require" : "")" }
    }

    public var description: String {
        switch self {
        case .sqlite(let path): path
        case .postgres(let location): location.description
        }
    }

    public struct Problem: Error, Equatable, CustomStringConvertible {
        public let description: String
    }

    /// Reads `store:` (a relative SQLite path is taken from `base`, the config's directory), with the
    /// password from `environment["HPCBRIDGE_STORE_PASSWORD"]`, else from `passwordFile`.
    public static func parse(_ text: String, passwordFile: String?, environment: [String: String], base: URL) throws(Problem) -> StoreLocation {
        guard text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") else {
            return .sqlite(path: text.hasPrefix("/") ? text : base.appendingPathComponent(text).standardizedFileURL.path)
        }
        guard let components = URLComponents(string: text), let host = components.host, !host.isEmpty else {
            throw Problem(description: "store: is not a PostgreSQL URL of the form postgres://USER@HOST:PORT/DATABASE")
        }
        if components.password != nil {
            throw Problem(description: "store: holds a password; the config must not (it is often under version control): put it in $HPCBRIDGE_STORE_PASSWORD or in a file named by store_password_file")
        }
        guard let username = components.user, !username.isEmpty else {
            throw Problem(description: "store: names no user; write postgres://USER@HOST:PORT/DATABASE")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw Problem(description: "store: names no database; write postgres://USER@HOST:PORT/DATABASE")
        }
        var requiresTLS = false
        for item in components.queryItems ?? [] {
            switch (item.name, item.value ?? "") {
            case ("sslmode", "disable"): requiresTLS = false
            case ("sslmode", "require"), ("sslmode", "verify-full"): requiresTLS = true
            default:
                throw Problem(description: "store: has the option \(item.name)=\(item.value ?? ""); only sslmode=disable, require or verify-full are read")
            }
        }
        var password = environment["HPCBRIDGE_STORE_PASSWORD"]
        if password == nil, let passwordFile {
            let path = passwordFile.hasPrefix("/") ? passwordFile : base.appendingPathComponent(passwordFile).standardizedFileURL.path
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Problem(description: "store_password_file \(path) cannot be read; check the path and that the service user may read it")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        return .postgres(PostgresLocation(host: host, port: components.port ?? 5432, username: username, database: database,
                                          password: password, requiresTLS: requiresTLS))
    }
}
