// WeakRegistry: objects shared by key while someone holds them. The registry
// keeps only weak references, so an object lives exactly as long as its
// users; entries whose object died are forgotten in a sweep each time the
// map has doubled since the last one, which keeps the map within about
// twice the number of live keys at O(1) amortized cost per insertion.
//
//   WeakRegistry<std::string, SharedRate> rates;
//   std::shared_ptr<SharedRate> rate = rates.Find("alice");
//   if (!rate) rates.Insert("alice", rate = std::make_shared<SharedRate>(bps));
//
// Each entry may carry `Info` (default: none), stored beside the weak
// reference, for example what identifies the object on disk. Not
// thread-safe: the owner locks.
#ifndef TPSLAB_FTPD_WEAK_REGISTRY_H_
#define TPSLAB_FTPD_WEAK_REGISTRY_H_

#include <algorithm>
#include <cstddef>
#include <memory>
#include <unordered_map>
#include <utility>
#include <variant>

namespace tpslab::ftpd {

template <typename Key, typename T, typename Info = std::monostate>
class WeakRegistry {
 public:
  // The live object under `key`, or null. When `info` is given and the
  // object is live, it receives the Info stored with it.
  std::shared_ptr<T> Find(const Key& key, Info* info = nullptr) const {
    auto it = entries_.find(key);
    if (it == entries_.end()) return nullptr;
    std::shared_ptr<T> object = it->second.object.lock();
    if (object && info != nullptr) *info = it->second.info;
    return object;
  }

  // Registers `object` under `key` (replacing whatever was there), then
  // sweeps dead entries when the map has reached its sweep size.
  void Insert(const Key& key, const std::shared_ptr<T>& object, Info info = {}) {
    entries_.insert_or_assign(key, Entry{object, std::move(info)});
    if (entries_.size() >= sweep_at_) {
      std::erase_if(entries_, [](const auto& entry) { return entry.second.object.expired(); });
      sweep_at_ = std::max(kMinSweep, 2 * entries_.size());
    }
  }

  // Keys remembered now: the live ones and dead ones not yet swept.
  std::size_t size() const { return entries_.size(); }

  // Keys whose object is alive.
  std::size_t live() const {
    return static_cast<std::size_t>(
        std::count_if(entries_.begin(), entries_.end(),
                      [](const auto& entry) { return !entry.second.object.expired(); }));
  }

 private:
  struct Entry {
    std::weak_ptr<T> object;
    Info info;
  };

  static constexpr std::size_t kMinSweep = 64;

  std::unordered_map<Key, Entry> entries_;
  std::size_t sweep_at_ = kMinSweep;  // Map size that triggers a sweep.
};

}  // namespace tpslab::ftpd

#endif  // TPSLAB_FTPD_WEAK_REGISTRY_H_
