/// "Did you mean" suggestions for misspelt keywords, parameter names and enum values.
public enum EditDistance {
    /// Levenshtein distance between two strings, compared case-insensitively by Unicode scalar.
    public static func between(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased().unicodeScalars), y = Array(b.lowercased().unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                let substitution = previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// The closest candidate within a distance proportional to the word's length, if any.
    ///
    /// The threshold (a third of the longer word, at least 2) catches transpositions and dropped letters
    /// (`requried`, `maxLenght`, `hg83`) without suggesting unrelated names; an abbreviation of at least
    /// three letters (`int` for `integer`) suggests the word it starts.
    public static func suggestion(for word: String, among candidates: some Sequence<String>) -> String? {
        let candidates = Array(candidates)
        var best: (String, Int)?
        let lowered = word.lowercased()
        for candidate in candidates where lowered.count >= 3 && candidate.lowercased().hasPrefix(lowered) && candidate != word {
            return candidate
        }
        for candidate in candidates {
            let d = between(word, candidate)
            let limit = max(2, max(word.count, candidate.count) / 3)
            guard d <= limit, d < (best?.1 ?? Int.max) else { continue }
            best = (candidate, d)
        }
        return best?.0
    }

    /// `" (did you mean "x"?)"` or an empty string, ready to append to a message.
    public static func hint(for word: String, among candidates: some Sequence<String>) -> String {
        guard let s = suggestion(for: word, among: candidates) else { return "" }
        return " (did you mean \"\(s)\"?)"
    }
}
