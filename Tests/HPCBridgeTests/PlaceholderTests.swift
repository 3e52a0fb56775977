import Testing
import HummingbirdTesting
import PropertyBased
@Test func placeholder() { #expect(1 == 1) }
