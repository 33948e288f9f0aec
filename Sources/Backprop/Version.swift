/// The version of the Backprop package, as `backprop info` and
/// `backprop --version` report it (semantic versioning).
public let backpropVersion = "0.1.0"
