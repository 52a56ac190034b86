#ifndef AIOUV_DETAIL_IO_RESOURCE_HPP_INCLUDED
#define AIOUV_DETAIL_IO_RESOURCE_HPP_INCLUDED

namespace aiouv {
class EventLoop;
}

namespace aiouv::detail {

/// Base of every object that owns libuv handles or requests on behalf of
/// the user: transports, servers, DNS lookups. The loop keeps a list of the
/// live ones so that EventLoop::close() can close what is still open (and
/// uv_loop_close() then succeeds), and it counts their open handles and
/// requests in flight for the leak ledger (LoopCounters).
class IoResource {
 public:
  explicit IoResource(EventLoop& loop) noexcept;
  IoResource(const IoResource&) = delete;
  IoResource& operator=(const IoResource&) = delete;
  virtual ~IoResource();

  EventLoop& loop() const noexcept { return *loop_; }

  /// The loop is closing: close the libuv handles and cancel the requests
  /// now. No user callback may run; the loop then runs libuv until every
  /// close and request callback has come back.
  virtual void abandon() noexcept = 0;

 protected:
  // Bookkeeping for LoopCounters and for close(), which waits for them.
  void handle_opened() noexcept;
  void handle_closed() noexcept;
  void request_started() noexcept;
  void request_finished() noexcept;

 private:
  friend class aiouv::EventLoop;
  EventLoop* loop_;
  IoResource* prev_ = nullptr;
  IoResource* next_ = nullptr;
  bool linked_ = false;
};

}  // namespace aiouv::detail

#endif
