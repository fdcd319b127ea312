#pragma once
// Internal to the balancer's .cpp files (it includes Asio's buffer types).
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstring>
#include <memory>

namespace flotilla::proxy {

// A bounded byte buffer that never reallocates. Data moves to the front only on compact(), so
// pointers into it stay valid while an exchange is using them.
class ByteBuffer {
 public:
  explicit ByteBuffer(std::size_t capacity) : storage_(new char[capacity]), capacity_(capacity) {}
  const char* data() const { return storage_.get() + begin_; }
  std::size_t size() const { return end_ - begin_; }
  std::size_t space() const { return capacity_ - end_; }
  boost::asio::mutable_buffer prepare() { return {storage_.get() + end_, capacity_ - end_}; }
  void commit(std::size_t n) { end_ += n; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(storage_.get(), storage_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  void clear() { begin_ = end_ = 0; }

 private:
  std::unique_ptr<char[]> storage_;
  std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace flotilla::proxy
