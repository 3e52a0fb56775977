import NIOSSL
import PostgresNIO

extension StoreLocation.PostgresLocation {
    /// The connection settings for postgres-nio. `?sslmode=require` and `verify-full` both verify the
    /// server's certificate and name against the system's trusted roots: a store holding every group's
    /// jobs and token hashes is not reached over TLS that any certificate satisfies.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = requiresTLS
            ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        return PostgresConnection.Configuration(host: host, port: port, username: username, password: password, database: database, tls: tls)
    }
}
