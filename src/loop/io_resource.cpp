#include <aiouv/detail/io_resource.hpp>

#include <aiouv/events.hpp>

namespace aiouv::detail {

IoResource::IoResource(EventLoop& loop) noexcept : loop_(&loop) { loop.link_io(this); }

IoResource::~IoResource() {
  // Abandoned at close() means unlinked already; the loop may be gone.
  if (linked_) loop_->unlink_io(this);
}

void IoResource::handle_opened() noexcept { ++loop_->io_handles_; }
void IoResource::handle_closed() noexcept { --loop_->io_handles_; }
void IoResource::request_started() noexcept { ++loop_->io_requests_; }
void IoResource::request_finished() noexcept { --loop_->io_requests_; }

}  // namespace aiouv::detail
