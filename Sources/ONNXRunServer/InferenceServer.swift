// `onnxrun serve`: an HTTP/1.1 server (SwiftNIO) speaking the Open Inference Protocol, with graceful shutdown.

import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import ONNXRun

/// What to serve and how.
public struct ServerConfiguration: Sendable {
    public var host: String
    /// 0 takes a free port (see `InferenceServer.port`).
    public var port: Int
    /// (name, path) per model.
    public var models: [(name: String, path: String)]
    /// Threads per model run (nil: all cores).
    public var threadCount: Int?
    /// `.bf16`: the models' GEMMs multiply in bfloat16 where the CPU can (`SessionOptions.precision`).
    public var precision: Precision
    /// Largest batch dynamic batching forms; 1 turns it off.
    public var maxBatch: Int
    public var batchWindowMilliseconds: Double
    /// Requests with a larger body get 413 before the body is read.
    public var maxBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8000, models: [(name: String, path: String)],
                threadCount: Int? = nil, precision: Precision = .fp32, maxBatch: Int = 1,
                batchWindowMilliseconds: Double = 2, maxBodyBytes: Int = 64 << 20) {
        self.host = host
        self.port = port
        self.models = models
        self.threadCount = threadCount
        self.precision = precision
        self.maxBatch = maxBatch
        self.batchWindowMilliseconds = batchWindowMilliseconds
        self.maxBodyBytes = maxBodyBytes
    }

    /// A model's name from its path: the folder's name for `.../NAME/model.onnx`, else the file name without
    /// `.onnx`.
    public static func modelName(forPath path: String) -> String {
        let components = path.split(separator: "/").map(String.init).filter { $0 != "." }
        guard let file = components.last else { return path }
        if file == "model.onnx", components.count >= 2, components[components.count - 2] != ".." {
            return components[components.count - 2]
        }
        return file.hasSuffix(".onnx") ? String(file.dropLast(5)) : file
    }
}

/// A running server. `shutdown()` stops accepting, lets in-flight requests finish, and closes.
public final class InferenceServer: Sendable {
    /// The bound host and port (the real port when 0 was asked for).
    public let host: String
    public let port: Int
    public var url: String { "http://\(host):\(port)" }

    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let state: ServerState

    /// Loads every model (failing on the first that does not load), binds, and starts answering.
    public static func start(_ configuration: ServerConfiguration) async throws -> InferenceServer {
        guard !configuration.models.isEmpty else {
            throw ONNXRunError(.invalidArgument, "no model to serve: give MODEL.onnx paths or --model NAME=PATH")
        }
        let metrics = ServerMetrics()
        var models: [String: ServedModel] = [:]
        let options = ModelServingOptions(threadCount: configuration.threadCount, precision: configuration.precision,
                                          maxBatch: configuration.maxBatch,
                                          batchWindowSeconds: configuration.batchWindowMilliseconds / 1000)
        for (name, path) in configuration.models {
            guard models[name] == nil else {
                throw ONNXRunError(.invalidArgument, "two models are named '\(name)'; name them with --model NAME=PATH")
            }
            models[name] = try ServedModel(name: name, path: path, options: options, metrics: metrics)
        }
        let state = ServerState(router: Router(models: models, metrics: metrics), maxBodyBytes: configuration.maxBodyBytes)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPRequestHandler(state: state))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            try? await group.shutdownGracefully()
            throw ONNXRunError(.io, "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let port = channel.localAddress?.port ?? configuration.port
        return InferenceServer(host: configuration.host, port: port, group: group, channel: channel, state: state)
    }

    private init(host: String, port: Int, group: MultiThreadedEventLoopGroup, channel: any Channel,
                 state: ServerState) {
        self.host = host
        self.port = port
        self.group = group
        self.channel = channel
        self.state = state
    }

    /// Stops accepting connections, waits (up to `timeout` seconds) for requests in flight to be answered, then
    /// closes everything.
    public func shutdown(timeout: Double = 10) async {
        state.stopAccepting()
        try? await channel.close()
        let deadline = Date().addingTimeInterval(timeout)
        while state.inFlight > 0 && Date() < deadline {
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        try? await group.shutdownGracefully()
    }

    /// Resolves when the listening socket closes.
    public func waitUntilClosed() async {
        try? await channel.closeFuture.get()
    }
}

/// What every connection shares: the router, limits, and the count of requests in flight.
final class ServerState: @unchecked Sendable {
    let router: Router
    let maxBodyBytes: Int
    private let lock = NSLock()
    private var inFlightCount = 0
    private var accepting = true

    init(router: Router, maxBodyBytes: Int) {
        self.router = router
        self.maxBodyBytes = maxBodyBytes
    }

    var inFlight: Int { lock.withLock { inFlightCount } }
    var isAccepting: Bool { lock.withLock { accepting } }
    func stopAccepting() { lock.withLock { accepting = false } }
    func begin() { lock.withLock { inFlightCount += 1 } }
    func end() { lock.withLock { inFlightCount -= 1 } }
}

/// One response.
struct HTTPReply: Sendable {
    var status: Int
    var contentType: String = "application/json"
    var headers: [(String, String)] = []
    var body: [UInt8]

    static func json(_ object: Any, status: Int = 200) -> HTTPReply {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return HTTPReply(status: status, body: Array(data))
    }

    static func error(_ error: ServerError) -> HTTPReply {
        json(["error": error.message], status: error.status)
    }
}

/// Reads one request at a time per connection: head (the body limit is checked here, before any body byte is
/// read), body, end; then hands it to the router and writes its reply on the event loop.
final class HTTPRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let state: ServerState
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    /// Set once a reply was sent early (413): the rest of the request is ignored and the connection closes.
    private var rejected = false
    /// Between a request's head and its reply: counted as in flight, so a shutdown waits for it.
    private var requestOpen = false

    init(state: ServerState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = nil
            rejected = false
            open()
            if !state.isAccepting {
                reject(ServerError(status: 503, message: "the server is shutting down"), context: context)
            } else if let length = requestHead.headers.first(name: "content-length").flatMap(Int.init), length > state.maxBodyBytes {
                reject(ServerError(status: 413, message: "the body is \(length) bytes, the limit is "
                    + "\(state.maxBodyBytes) (--max-body-mb)"), context: context)
            }
        case .body(var chunk):
            guard !rejected else { return }
            if body == nil { body = context.channel.allocator.buffer(capacity: chunk.readableBytes) }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > state.maxBodyBytes {
                reject(ServerError(status: 413, message: "the body exceeds the limit of \(state.maxBodyBytes) bytes"),
                       context: context)
                return
            }
            body?.writeBuffer(&chunk)
        case .end:
            guard !rejected, let requestHead = head else { return }
            head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            let keepAlive = requestHead.isKeepAlive
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let request = RouterRequest(method: requestHead.method.rawValue, uri: requestHead.uri,
                                        headers: requestHead.headers.map { ($0.name.lowercased(), $0.value) },
                                        body: bytes)
            // Decoding, inference and encoding run off the event loop, which only moves bytes.
            DispatchQueue.global().async { [state] in
                state.router.respond(to: request) { reply in
                    loop.execute {
                        let (handler, context) = bound.value
                        handler.write(reply, keepAlive: keepAlive, context: context)
                        handler.close()
                    }
                }
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    private func open() {
        if !requestOpen { state.begin() }
        requestOpen = true
    }

    private func close() {
        if requestOpen { state.end() }
        requestOpen = false
    }

    private func reject(_ error: ServerError, context: ChannelHandlerContext) {
        rejected = true
        write(.error(error), keepAlive: false, context: context)
        close()
    }

    private func write(_ reply: HTTPReply, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: reply.contentType)
        headers.add(name: "content-length", value: String(reply.body.count))
        for (name, value) in reply.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: reply.status),
                                    headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: reply.body.count)
        buffer.writeBytes(reply.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlushPromise(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}

extension ChannelHandlerContext {
    fileprivate func writeAndFlushPromise(_ data: NIOAny) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        writeAndFlush(data, promise: promise)
        return promise.futureResult
    }
}
