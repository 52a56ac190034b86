// asyncio's streams.py: StreamReader, the protocol that feeds it, and
// StreamWriter's flow control.
#include <aiouv/streams.hpp>
#include <aiouv/tasks.hpp>

#include <algorithm>
#include <system_error>

#include "../loop/loop_core.hpp"
#include "stream_protocol.hpp"
#include "stream_transport.hpp"
#include "tls/ssl_protocol.hpp"

namespace aiouv::detail {

/// A StreamReader's buffer and wait state. The unread bytes are
/// buffer_[start_, end): consuming from the front moves an index instead of
/// the bytes, and the buffer is compacted only now and then.
class StreamReaderState {
 public:
  explicit StreamReaderState(std::size_t limit) : limit(limit) {
    if (limit == 0) throw std::invalid_argument("Limit cannot be <= 0");
  }

  std::size_t size() const noexcept { return buffer_.size() - start_; }
  std::string_view data() const noexcept { return std::string_view(buffer_).substr(start_); }
  std::string take(std::size_t n) {
    std::string out(buffer_, start_, n);
    consume(n);
    return out;
  }
  /// take(n), then resumes reading if the buffer fell to the limit.
  std::string take_and_resume(std::size_t n) {
    std::string out = take(n);
    maybe_resume_transport();
    return out;
  }
  void consume(std::size_t n) noexcept {
    start_ += n;
    if (start_ == buffer_.size()) {
      buffer_.clear();
      start_ = 0;
    } else if (start_ > 4096 && start_ > buffer_.size() / 2) {
      buffer_.erase(0, start_);
      start_ = 0;
    }
  }
  void clear() noexcept { consume(size()); }

  void feed_data(std::string_view data) {
    if (data.empty()) return;
    buffer_.append(data);
    wake_up_waiter();
    if (transport && !paused && size() > 2 * limit) {
      transport->pause_reading();
      paused = true;
    }
  }
  void feed_eof() {
    eof = true;
    wake_up_waiter();
  }
  void set_exception(std::exception_ptr e) {
    error = e;
    if (std::exchange(waiting_, false) && !spare_.done()) spare_.set_exception(e);
  }
  void maybe_resume_transport() {
    if (paused && size() <= limit) {
      paused = false;
      transport->resume_reading();
    }
  }
  void throw_if_failed() const {
    if (error) std::rethrow_exception(error);
  }

  /// Starts waiting until feed_data(), feed_eof() or set_exception() is
  /// called: the future to await, with a WaitSlot in scope. Not a
  /// coroutine itself, to spare a frame on every read.
  Future<void> begin_wait(const char* caller) {
    if (waiting_) {
      throw RuntimeError(std::string(caller) +
                         "() called while another coroutine is already waiting for incoming data");
    }
    if (paused) {
      paused = false;
      transport->resume_reading();
    }
    // One future per reader, reset for each wait when nobody else holds it
    // (a reader that was woken but has not resumed yet still holds its
    // copy): a fresh one per read would be an allocation per message.
    if (!spare_ || !spare_.state()->try_reset()) spare_ = get_running_loop().create_future<void>();
    waiting_ = true;
    return spare_;
  }

  const std::size_t limit;
  bool eof = false;
  bool paused = false;
  std::exception_ptr error;
  Transport* transport = nullptr;

  /// The wait on `awaited` is over.
  void end_wait(const Future<void>& awaited) noexcept {
    if (awaited.state() == spare_.state()) waiting_ = false;
  }

 private:
  void wake_up_waiter() {
    if (std::exchange(waiting_, false) && !spare_.done()) spare_.set_result();
  }

  std::string buffer_;
  std::size_t start_ = 0;
  Future<void> spare_;
  bool waiting_ = false;  // a reader awaits spare_ and has not been woken
};

namespace {

/// Ends the reader's wait when the awaiting coroutine goes on, however it
/// goes on, unless a newer wait (another coroutine's, after this one was
/// woken) has taken over.
struct WaitSlot {
  StreamReaderState& state;
  const Future<void>& awaited;
  ~WaitSlot() { state.end_wait(awaited); }
};

/// read(n) for n >= 0: the hot path of every stream protocol, so kept to
/// one wait and nothing else in its frame.
Coro<std::string> read_some(std::shared_ptr<StreamReaderState> s, std::size_t n) {
  s->throw_if_failed();
  if (n == 0) co_return std::string();
  if (s->size() == 0 && !s->eof) {
    Future<void> data = s->begin_wait("read");
    WaitSlot slot{*s, data};
    co_await data;
  }
  co_return s->take_and_resume(std::min(n, s->size()));
}

/// read(-1): until EOF, in limit-sized blocks as asyncio does.
Coro<std::string> read_all(std::shared_ptr<StreamReaderState> s) {
  s->throw_if_failed();
  std::string all;
  for (;;) {
    std::string block = co_await read_some(s, s->limit);
    if (block.empty()) break;
    all += block;
  }
  co_return all;
}

Coro<std::string> read_exactly(std::shared_ptr<StreamReaderState> s, std::ptrdiff_t n) {
  if (n < 0) throw std::invalid_argument("readexactly size can not be less than zero");
  s->throw_if_failed();
  if (n == 0) co_return std::string();
  const auto wanted = static_cast<std::size_t>(n);
  while (s->size() < wanted) {
    if (s->eof) {
      std::string partial = s->take(s->size());
      throw IncompleteReadError(std::move(partial), n);
    }
    Future<void> data = s->begin_wait("readexactly");
    WaitSlot slot{*s, data};
    co_await data;
  }
  std::string data = s->take(wanted);
  s->maybe_resume_transport();
  co_return data;
}

Coro<std::string> read_until(std::shared_ptr<StreamReaderState> s, std::vector<std::string> separators) {
  std::sort(separators.begin(), separators.end(),
            [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  if (separators.empty()) throw std::invalid_argument("Separator should contain at least one element");
  const std::size_t min_length = separators.front().size();
  const std::size_t max_length = separators.back().size();
  if (min_length == 0) throw std::invalid_argument("Separator should be at least one-byte string");
  s->throw_if_failed();

  // asyncio's search: the earliest end of any separator, resuming each
  // scan where the last one could not have matched.
  std::size_t offset = 0;
  std::size_t match_start = 0;
  std::size_t match_end = 0;
  for (;;) {
    const std::string_view buffered = s->data();
    if (buffered.size() - std::min(offset, buffered.size()) >= min_length) {
      bool found = false;
      for (const std::string& separator : separators) {
        const std::size_t at = buffered.find(separator, offset);
        if (at == std::string_view::npos) continue;
        const std::size_t end = at + separator.size();
        if (!found || end < match_end) {
          found = true;
          match_start = at;
          match_end = end;
        }
      }
      if (found) break;
      offset = buffered.size() + 1 > max_length ? buffered.size() + 1 - max_length : 0;
      if (offset > s->limit) throw LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
    }
    if (s->eof) {
      std::string partial = s->take(s->size());
      throw IncompleteReadError(std::move(partial), -1);
    }
    Future<void> data = s->begin_wait("readuntil");
    WaitSlot slot{*s, data};
    co_await data;
  }
  if (match_start > s->limit) {
    throw LimitOverrunError("Separator is found, but chunk is longer than limit", match_start);
  }
  std::string chunk = s->take(match_end);
  s->maybe_resume_transport();
  co_return chunk;
}

Coro<std::string> read_line(std::shared_ptr<StreamReaderState> s) {
  std::string line;
  std::string partial;
  bool incomplete = false;
  std::string overrun;
  try {
    std::vector<std::string> newline(1, "\n");  // not a braced list: g++ 12 rejects one in co_await
    line = co_await read_until(s, std::move(newline));
  } catch (IncompleteReadError& e) {
    incomplete = true;
    partial = e.partial();
  } catch (const LimitOverrunError& e) {
    // Drop the line (up to its separator if it arrived, else all).
    if (s->data().substr(e.consumed()).starts_with("\n")) {
      s->consume(e.consumed() + 1);
    } else {
      s->clear();
    }
    s->maybe_resume_transport();
    overrun = e.what();
  }
  if (!overrun.empty()) throw std::invalid_argument(overrun);
  if (incomplete) co_return partial;
  co_return line;
}

}  // namespace

/// asyncio's StreamReaderProtocol plus FlowControlMixin.
class StreamProtocol final : public Protocol, public std::enable_shared_from_this<StreamProtocol> {
 public:
  StreamProtocol(EventLoop& loop, StreamReader reader, ClientConnected client_connected)
      : closed(loop.create_future<void>()),
        loop_(loop),
        reader_(std::move(reader)),
        client_connected_(std::move(client_connected)) {}

  void connection_made(Transport& transport) override {
    reader_.set_transport(&transport);
    if (!client_connected_) return;
    std::shared_ptr<Transport> shared = detail::shared_transport(transport);
    StreamWriter writer(shared, shared_from_this());
    Task<void> task = loop_.create_task(client_connected_(reader_, writer));
    // A weak reference: the callback must not keep the transport alive.
    std::weak_ptr<Transport> weak = shared;
    task.add_done_callback([weak](Future<void>& done) {
      if (done.cancelled()) return;
      if (std::exception_ptr error = done.exception()) {
        auto transport = weak.lock();
        done.get_loop().call_exception_handler(ExceptionContext{"Unhandled exception in client_connected_cb", error,
                                                                done, transport ? detail::describe_transport(*transport)
                                                                                : ""});
        if (transport) transport->close();
      }
    });
  }

  /// True for the protocol of a server's client (start_tls() then acts as
  /// the TLS server).
  bool serves_a_client() const noexcept { return static_cast<bool>(client_connected_); }
  /// start_tls(): the reader pauses and resumes the TLS transport now.
  void replace_transport(Transport& transport) { reader_.set_transport(&transport); }

  void connection_lost(std::exception_ptr error) override {
    if (error) {
      reader_.set_exception(error);
    } else {
      reader_.feed_eof();
    }
    if (!closed.done()) {
      if (error) {
        closed.set_exception(error);
        (void)closed.exception();  // retrieved: wait_closed() is optional
      } else {
        closed.set_result();
      }
    }
    connection_lost_ = true;
    wake_drain_waiters(error);
    reader_.set_transport(nullptr);
  }

  void data_received(std::string_view data) override {
    // Called from a read callback only: the reader it wakes resumes in this
    // loop iteration's check phase.
    detail::drain_after_poll(loop_);
    reader_.feed_data(data);
  }
  bool eof_received() override {
    reader_.feed_eof();
    return true;  // half-open: the writer may still write
  }
  void pause_writing() override { paused_ = true; }
  void resume_writing() override {
    paused_ = false;
    wake_drain_waiters(nullptr);
  }

  /// asyncio's _drain_helper without the coroutine: a future to await
  /// while writing is paused, else an empty one.
  Future<void> drain_waiter() {
    if (connection_lost_) throw std::system_error(std::make_error_code(std::errc::connection_reset), "Connection lost");
    if (!paused_) return {};
    Future<void> waiter = loop_.create_future<void>();
    drain_waiters_.push_back(waiter);
    return waiter;
  }

  std::exception_ptr reader_exception() const noexcept { return reader_.exception(); }
  bool reader_failed() const noexcept { return reader_.failed(); }
  /// Whether drain_waiter() would wait or throw.
  bool must_drain() const noexcept { return paused_ || connection_lost_; }

  Future<void> closed;

 private:
  void wake_drain_waiters(std::exception_ptr error) {
    std::vector<Future<void>> waiters = std::move(drain_waiters_);
    drain_waiters_.clear();
    for (Future<void>& waiter : waiters) {
      if (waiter.done()) continue;
      if (error) {
        waiter.set_exception(error);
      } else {
        waiter.set_result();
      }
    }
  }

  EventLoop& loop_;
  StreamReader reader_;
  ClientConnected client_connected_;
  std::vector<Future<void>> drain_waiters_;
  bool paused_ = false;
  bool connection_lost_ = false;
};

}  // namespace aiouv::detail

namespace aiouv {

// ---- StreamReader ----

StreamReader::StreamReader(std::size_t limit) : state_(std::make_shared<detail::StreamReaderState>(limit)) {}

Coro<std::string> StreamReader::read(std::ptrdiff_t n) {
  if (n < 0) return detail::read_all(state_);
  return detail::read_some(state_, static_cast<std::size_t>(n));
}
Coro<std::string> StreamReader::readline() { return detail::read_line(state_); }
Coro<std::string> StreamReader::readexactly(std::ptrdiff_t n) { return detail::read_exactly(state_, n); }
Coro<std::string> StreamReader::readuntil(std::string separator) {
  return detail::read_until(state_, std::vector<std::string>{std::move(separator)});
}
Coro<std::string> StreamReader::readuntil(std::vector<std::string> separators) {
  return detail::read_until(state_, std::move(separators));
}
bool StreamReader::at_eof() const noexcept { return state_->eof && state_->size() == 0; }
std::exception_ptr StreamReader::exception() const noexcept { return state_->error; }
bool StreamReader::failed() const noexcept { return state_->error != nullptr; }
void StreamReader::feed_data(std::string_view data) { state_->feed_data(data); }
void StreamReader::feed_eof() { state_->feed_eof(); }
void StreamReader::set_exception(std::exception_ptr error) { state_->set_exception(std::move(error)); }
void StreamReader::set_transport(Transport* transport) { state_->transport = transport; }

// ---- StreamWriter ----

StreamWriter::StreamWriter(std::shared_ptr<Transport> transport,
                           std::shared_ptr<detail::StreamProtocol> protocol) noexcept
    : target_(std::make_shared<detail::StreamWriterTarget>(detail::StreamWriterTarget{std::move(transport)})),
      protocol_(std::move(protocol)) {}

namespace {

Coro<void> drain_impl(std::shared_ptr<Transport> transport, std::shared_ptr<detail::StreamProtocol> protocol) {
  if (std::exception_ptr error = protocol->reader_exception()) std::rethrow_exception(error);
  // Closing: let connection_lost() run first, so that drain() reports it.
  if (transport->is_closing()) co_await sleep(std::chrono::seconds(0));
  if (Future<void> waiter = protocol->drain_waiter()) co_await waiter;
}

Coro<void> wait_closed_impl(std::shared_ptr<detail::StreamProtocol> protocol) { co_await protocol->closed; }

}  // namespace

Coro<void> StreamWriter::drain() {
  // Nothing to wait for (the usual case): no frame at all.
  if (!protocol_->must_drain() && !protocol_->reader_failed() && !target_->transport->is_closing()) {
    return Coro<void>::ready();
  }
  return drain_impl(target_->transport, protocol_);
}

Coro<void> StreamWriter::start_tls(std::shared_ptr<SSLContext> sslcontext, TlsOptions options) {
  options.server_side = protocol_->serves_a_client();
  co_await drain();
  EventLoop& loop = target_->transport->get_loop();
  std::shared_ptr<Transport> tls = co_await loop.start_tls(target_->transport, detail::as_protocol(protocol_),
                                                           std::move(sslcontext), std::move(options));
  protocol_->replace_transport(*tls);
  target_->transport = std::move(tls);
}
Coro<void> StreamWriter::wait_closed() { return wait_closed_impl(protocol_); }

// ---- open_connection, start_server ----

namespace detail {

std::shared_ptr<StreamProtocol> make_stream_protocol(EventLoop& loop, StreamReader reader,
                                                     ClientConnected client_connected) {
  return std::make_shared<StreamProtocol>(loop, std::move(reader), std::move(client_connected));
}

std::shared_ptr<Protocol> as_protocol(std::shared_ptr<StreamProtocol> protocol) noexcept { return protocol; }

}  // namespace detail

namespace {

using detail::make_stream_protocol;

/// The protocol factory of start_server() and start_unix_server().
auto server_protocols(EventLoop& loop, ClientConnected client_connected, std::size_t limit) {
  if (!client_connected) throw std::invalid_argument("start_server() needs a client_connected callback");
  return [&loop, client_connected = std::move(client_connected), limit] {
    return make_stream_protocol(loop, StreamReader(limit), client_connected);
  };
}

}  // namespace

Coro<StreamPair> open_connection(std::string host, std::uint16_t port, ConnectionOptions options, std::size_t limit) {
  EventLoop& loop = get_running_loop();
  StreamReader reader(limit);
  auto [transport, protocol] = co_await loop.create_connection(
      [&] { return make_stream_protocol(loop, reader, nullptr); }, std::move(host), port, std::move(options));
  co_return StreamPair{reader, StreamWriter(std::move(transport), std::move(protocol))};
}

Coro<StreamPair> open_unix_connection(std::string path, std::size_t limit) {
  UnixConnectionOptions plain;  // named: see the g++ 12 note in the README
  return open_unix_connection(std::move(path), std::move(plain), limit);
}

Coro<StreamPair> open_unix_connection(std::string path, UnixConnectionOptions options, std::size_t limit) {
  EventLoop& loop = get_running_loop();
  StreamReader reader(limit);
  auto [transport, protocol] = co_await loop.create_unix_connection(
      [&] { return make_stream_protocol(loop, reader, nullptr); }, std::move(path), std::move(options));
  co_return StreamPair{reader, StreamWriter(std::move(transport), std::move(protocol))};
}

Coro<std::shared_ptr<Server>> start_server(ClientConnected client_connected, std::string host, std::uint16_t port,
                                           ServerOptions options, std::size_t limit) {
  EventLoop& loop = get_running_loop();
  co_return co_await loop.create_server(server_protocols(loop, std::move(client_connected), limit), std::move(host),
                                        port, options);
}

Coro<std::shared_ptr<Server>> start_unix_server(ClientConnected client_connected, std::string path,
                                                ServerOptions options, std::size_t limit) {
  EventLoop& loop = get_running_loop();
  co_return co_await loop.create_unix_server(server_protocols(loop, std::move(client_connected), limit),
                                             std::move(path), options);
}

}  // namespace aiouv
