// The same example with asyncio.run():
//
//   async def main():
//       t1 = asyncio.create_task(say_hello())
//       t2 = asyncio.create_task(say_hello())
//       await t1
//       await t2
//
//   asyncio.run(main())
#include <cstdio>

#include <aiouv/aiouv.hpp>

using namespace std::chrono_literals;

aiouv::Coro<void> say_hello() {
  co_await aiouv::sleep(1s);
  std::puts("Hello, World!");
}

aiouv::Coro<void> main_coro() {
  auto t1 = aiouv::create_task(say_hello());
  auto t2 = aiouv::create_task(say_hello());
  co_await t1;
  co_await t2;
}

int main() { aiouv::run(main_coro()); }
