import Foundation

/// Parsing and formatting of the resource quantities people write in catalogs and requests.
///
/// Memory is written like Slurm's `--mem` (`16G`, `512M`, a bare number is megabytes); time limits like
/// Slurm's `--time` (`90` minutes, `HH:MM:SS`, `D-HH:MM:SS`, `D-HH`, `MM:SS`). Internally memory is whole
/// megabytes and time whole seconds, and each scheduler gets its own spelling back from these.
public enum ResourceQuantities {
    /// Megabytes from `16G`, `512M`, `1T`, `2048` (MB). `nil` when the text is not a memory size.
    public static func megabytes(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let last = trimmed.last else { return nil }
        let units: [Character: Int] = ["K": 0, "M": 1, "G": 1024, "T": 1024 * 1024]
        let unit = last.uppercased().first!
        if let multiplier = units[unit] {
            guard let n = Int(trimmed.dropLast()), n > 0 else { return nil }
            if unit == "K" { return (n + 1023) / 1024 }
            let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
            return overflow ? nil : product
        }
        guard let n = Int(trimmed), n > 0 else { return nil }
        return n
    }

    /// Seconds from a Slurm-style time limit. `nil` when the text is not one.
    public static func seconds(_ text: String) -> Int? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var days = 0
        var rest = Substring(trimmed)
        if let dash = trimmed.firstIndex(of: "-") {
            guard let d = Int(trimmed[..<dash]), d >= 0 else { return nil }
            days = d
            rest = trimmed[trimmed.index(after: dash)...]
        }
        let parts = rest.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil && $0! >= 0 }) else { return nil }
        let p = parts.map { $0! }
        let seconds: Int
        if trimmed.contains("-") {
            switch p.count {
            case 1: seconds = p[0] * 3600
            case 2: seconds = p[0] * 3600 + p[1] * 60
            case 3: seconds = p[0] * 3600 + p[1] * 60 + p[2]
            default: return nil
            }
        } else {
            switch p.count {
            case 1: seconds = p[0] * 60
            case 2: seconds = p[0] * 60 + p[1]
            case 3: seconds = p[0] * 3600 + p[1] * 60 + p[2]
            default: return nil
            }
        }
        let total = days * 86400 + seconds
        return total > 0 ? total : nil
    }

    /// Slurm's `--time` spelling, `D-HH:MM:SS`, rounded up to whole minutes as Slurm itself does.
    public static func slurmTime(seconds: Int) -> String {
        let minutes = (seconds + 59) / 60
        let days = minutes / 1440, hours = (minutes % 1440) / 60, mins = minutes % 60
        return days > 0 ? "\(days)-\(pad(hours)):\(pad(mins)):00" : "\(pad(hours)):\(pad(mins)):00"
    }

    /// PBS `walltime` spelling, `HH:MM:SS` with hours past 24 as needed.
    public static func pbsWalltime(seconds: Int) -> String {
        "\(pad(seconds / 3600)):\(pad((seconds % 3600) / 60)):\(pad(seconds % 60))"
    }

    /// `16G` when whole gigabytes, else `512M`: how people read memory back.
    public static func memoryText(megabytes: Int) -> String {
        megabytes % 1024 == 0 ? "\(megabytes / 1024)G" : "\(megabytes)M"
    }

    /// `1-02:00:00`-style text for messages.
    public static func timeText(seconds: Int) -> String {
        let days = seconds / 86400, h = (seconds % 86400) / 3600, m = (seconds % 3600) / 60, s = seconds % 60
        return (days > 0 ? "\(days)-" : "") + "\(pad(h)):\(pad(m)):\(pad(s))"
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
