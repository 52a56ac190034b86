// A line-based chat server: every line a client sends goes to every other
// client. Each client has a bounded outbox (an aiouv::Queue) drained by its
// own writer task, so a client that does not read only fills its own
// outbox: once that is full it misses messages (and is told so), while the
// others are not held up.
//
//   chat [--host 127.0.0.1] [--port 8888]
//
// Prints "listening on HOST:PORT" first (--port 0 picks a free port); runs
// until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>

#include <aiouv/aiouv.hpp>

#include "../common/server_main.hpp"

namespace {

constexpr long kOutboxSize = 100;

struct Client {
  std::string name;
  aiouv::Queue<std::string> outbox{kOutboxSize};
  std::size_t dropped = 0;
};

class ChatRoom {
 public:
  /// One connection: a writer task for the outbox, this task for input.
  aiouv::Coro<void> serve(aiouv::StreamReader reader, aiouv::StreamWriter writer) {
    auto client = std::make_shared<Client>();
    client->name = "user" + std::to_string(++joined_);
    clients_[client.get()] = client;
    aiouv::Task<void> sender = aiouv::create_task(send_outbox(client, writer));
    client->outbox.put_nowait("*** welcome, " + client->name + "\n");
    broadcast(*client, "*** " + client->name + " joined\n");
    try {
      for (;;) {
        std::string line = co_await reader.readline();
        if (line.empty()) break;  // EOF
        if (line.back() != '\n') line += '\n';
        broadcast(*client, "[" + client->name + "] " + line);
        // readline() does not suspend while lines are buffered: yield, so
        // that the writer tasks empty the outboxes between two lines.
        co_await aiouv::sleep(std::chrono::seconds(0));
      }
    } catch (const std::exception&) {
      // A reset or an over-long line: the client is gone either way.
    }
    clients_.erase(client.get());
    broadcast(*client, "*** " + client->name + " left\n");
    client->outbox.shutdown(true);  // the sender stops at once
    co_await sender;  // it handles its own errors
    writer.close();
  }

  std::size_t size() const { return clients_.size(); }

 private:
  /// Queues `text` for everybody but `from`; a full outbox drops it.
  void broadcast(const Client& from, const std::string& text) {
    for (auto& [key, client] : clients_) {
      if (key == &from) continue;
      try {
        client->outbox.put_nowait(text);
      } catch (const aiouv::QueueFull&) {
        ++client->dropped;
      }
    }
  }

  static aiouv::Coro<void> send_outbox(std::shared_ptr<Client> client, aiouv::StreamWriter writer) {
    try {
      for (;;) {
        std::string text = co_await client->outbox.get();
        if (client->dropped > 0) {
          text = "*** " + std::to_string(std::exchange(client->dropped, 0)) + " messages dropped\n" + text;
        }
        writer.write(text);
        co_await writer.drain();
      }
    } catch (const aiouv::QueueShutDown&) {
    } catch (const std::system_error&) {
      // The connection went away while we were writing.
    }
  }

  std::map<const Client*, std::shared_ptr<Client>> clients_;
  unsigned joined_ = 0;
};

aiouv::Coro<int> run_chat(samples::HostPort options) {
  ChatRoom room;
  auto server = co_await aiouv::start_server(
      [&room](aiouv::StreamReader reader, aiouv::StreamWriter writer) { return room.serve(reader, writer); },
      options.host, options.port);
  samples::announce(*server);
  (void)co_await samples::shutdown_signal();
  std::printf("shutting down with %zu client(s) connected\n", room.size());
  server->close();
  server->close_clients();
  co_await server->wait_closed();
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) { return aiouv::run(run_chat(samples::parse_host_port(argc, argv, 8888))); }
