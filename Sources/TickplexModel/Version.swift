/// The release this build belongs to (shown by `/stats`, `/metrics` and `tickplex --version`).
public enum TickplexVersion {
    public static let string = "0.5.0-dev"
}
