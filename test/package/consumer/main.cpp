#include <cstdio>

#include <aiouv/aiouv.hpp>

aiouv::Coro<int> answer() {
  co_await aiouv::sleep(std::chrono::milliseconds(1));
  co_return 42;
}

int main() {
  std::printf("consumer: %d\n", aiouv::run(answer()));
  return 0;
}
