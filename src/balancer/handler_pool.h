#pragma once
// Internal to the balancer's .cpp files: memory for the proxy's asynchronous operations. Asio
// allocates each operation through its handler's associated allocator, and its own per-thread
// cache holds one block, so with several operations in flight per connection most of them went
// to the heap. An IO thread's HandlerPool keeps the blocks it handed out and takes them back: the
// request path allocates only while the pool grows to the number of operations in flight at once.
//
// Threading: one IO thread's only. It must outlive the io_context whose operations use it (an
// operation still pending when the context is destroyed gives its block back then).
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace flotilla::proxy {

class HandlerPool {
 public:
  // Larger than any handler of the proxy's operations; a larger one goes to the heap.
  static constexpr std::size_t kBlockSize = 512;

  HandlerPool() = default;
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;
  ~HandlerPool() {
    for (void* block : free_) ::operator delete(block);
  }

  void* allocate(std::size_t size) {
    if (size > kBlockSize) return ::operator new(size);
    if (free_.empty()) return ::operator new(kBlockSize);
    void* block = free_.back();
    free_.pop_back();
    return block;
  }
  void deallocate(void* block, std::size_t size) {
    if (size > kBlockSize) return ::operator delete(block);
    free_.push_back(block);
  }
  // Blocks given back and not handed out again.
  std::size_t free_blocks() const { return free_.size(); }

 private:
  std::vector<void*> free_;
};

template <class T>
class PoolAllocator {
 public:
  using value_type = T;
  explicit PoolAllocator(HandlerPool& pool) noexcept : pool_(&pool) {}
  template <class U>
  PoolAllocator(const PoolAllocator<U>& other) noexcept : pool_(&other.pool()) {}

  T* allocate(std::size_t n) { return static_cast<T*>(pool_->allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t n) { pool_->deallocate(p, sizeof(T) * n); }
  HandlerPool& pool() const { return *pool_; }

  template <class U>
  bool operator==(const PoolAllocator<U>& other) const noexcept {
    return pool_ == &other.pool();
  }

 private:
  HandlerPool* pool_;
};

// A completion handler whose operation's memory comes from `pool` (Asio finds get_allocator()).
template <class Handler>
class PooledHandler {
 public:
  using allocator_type = PoolAllocator<Handler>;
  PooledHandler(HandlerPool& pool, Handler handler) : pool_(&pool), handler_(std::move(handler)) {}
  allocator_type get_allocator() const noexcept { return allocator_type(*pool_); }
  template <class... Args>
  void operator()(Args&&... args) {
    handler_(std::forward<Args>(args)...);
  }

 private:
  HandlerPool* pool_;
  Handler handler_;
};

template <class Handler>
PooledHandler<std::decay_t<Handler>> pooled(HandlerPool& pool, Handler&& handler) {
  return {pool, std::forward<Handler>(handler)};
}

}  // namespace flotilla::proxy
