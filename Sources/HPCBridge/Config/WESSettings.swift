import Foundation

/// How the GA4GH WES interface describes this service (`wes:` in the config): its GA4GH service id and
/// name, the organization that runs it, and where a user learns to get a token. Every field has a
/// default drawn from the host, so the interface works unconfigured; a site sets them once it publishes
/// the service.
public struct WESSettings: Sendable, Equatable {
    /// Reverse domain name, unique to this deployment (GA4GH service-info `id`).
    public var serviceID: String?
    public var name: String?
    public var organizationName: String?
    public var organizationURL: String?
    public var contactURL: String?
    public var authInstructionsURL: String?

    public init(serviceID: String? = nil, name: String? = nil, organizationName: String? = nil, organizationURL: String? = nil,
                contactURL: String? = nil, authInstructionsURL: String? = nil) {
        self.serviceID = serviceID
        self.name = name
        self.organizationName = organizationName
        self.organizationURL = organizationURL
        self.contactURL = contactURL
        self.authInstructionsURL = authInstructionsURL
    }

    init(_ value: JSONValue?) {
        self.init(serviceID: value?["service_id"]?.stringValue, name: value?["name"]?.stringValue,
                  organizationName: value?["organization"]?["name"]?.stringValue, organizationURL: value?["organization"]?["url"]?.stringValue,
                  contactURL: value?["contact_url"]?.stringValue, authInstructionsURL: value?["auth_instructions_url"]?.stringValue)
    }
}
