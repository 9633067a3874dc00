// This file is part of the opencv_anomaly project. See LICENSE in the repository root.
// The legacy torch.save container: pickle(magic) pickle(protocol) pickle(sys_info) pickle(object)
// pickle(storage keys), then per key an int64 element count and the raw little-endian elements.
// The object pickle references storages through persistent ids; this is a small pickle machine for
// exactly the opcodes torch.save emits for a state dict (protocol 2), so no Python is needed.
#include "pth_state_dict.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>
#include <variant>
#include <vector>

namespace anomaly_backbone {
namespace {

struct PickleValue;
using ValuePtr = std::shared_ptr<PickleValue>;

struct StorageRef
{
    std::string key;
    torch::ScalarType dtype = torch::kFloat32;
};

struct TensorRef
{
    StorageRef storage;
    int64_t offset = 0;
    std::vector<int64_t> sizes, strides;
};

struct Global
{
    std::string qualifiedName;  // "module.name"
};

struct Mark
{
};

/** One value on the pickle stack. Dicts keep insertion order as key/value pairs. */
struct PickleValue
{
    std::variant<std::monostate, bool, int64_t, double, std::string, Global, StorageRef, TensorRef,
                 Mark>
        scalar;
    enum class Container
    {
        None,
        Tuple,
        List,
        Dict
    } container = Container::None;
    std::vector<ValuePtr> items;  // tuple/list items, or dict key,value,key,value...
};

ValuePtr makeScalar(decltype(PickleValue::scalar) v)
{
    auto p = std::make_shared<PickleValue>();
    p->scalar = std::move(v);
    return p;
}

ValuePtr makeContainer(PickleValue::Container kind, std::vector<ValuePtr> items = {})
{
    auto p = std::make_shared<PickleValue>();
    p->container = kind;
    p->items = std::move(items);
    return p;
}

int64_t asInt(const ValuePtr& v)
{
    if (auto* i = std::get_if<int64_t>(&v->scalar))
        return *i;
    throw std::runtime_error("legacy .pth: expected an integer in the pickle");
}

const std::string& asString(const ValuePtr& v)
{
    if (auto* s = std::get_if<std::string>(&v->scalar))
        return *s;
    throw std::runtime_error("legacy .pth: expected a string in the pickle");
}

std::vector<int64_t> asIntTuple(const ValuePtr& v)
{
    std::vector<int64_t> out;
    for (const auto& item : v->items)
        out.push_back(asInt(item));
    return out;
}

torch::ScalarType storageDtype(const std::string& storageClass)
{
    static const std::map<std::string, torch::ScalarType> types = {
        {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
        {"torch.HalfStorage", torch::kFloat16},  {"torch.LongStorage", torch::kInt64},
        {"torch.IntStorage", torch::kInt32},     {"torch.ShortStorage", torch::kInt16},
        {"torch.CharStorage", torch::kInt8},     {"torch.ByteStorage", torch::kUInt8},
        {"torch.BoolStorage", torch::kBool}};
    auto it = types.find(storageClass);
    if (it == types.end())
        throw std::runtime_error("legacy .pth: unsupported storage type " + storageClass);
    return it->second;
}

/** Runs one pickle from `pos`, advancing it past the STOP opcode. */
class PickleMachine
{
public:
    PickleMachine(const std::string& bytes, size_t& pos) : bytes_(bytes), pos_(pos) {}

    ValuePtr run()
    {
        for (;;) {
            const unsigned char op = readByte();
            switch (op) {
                case 0x80:
                    readByte();
                    break;  // PROTO
                case '.':
                    return pop();  // STOP
                case '(':
                    stack_.push_back(makeScalar(Mark{}));
                    break;
                case 'N':
                    stack_.push_back(makeScalar(std::monostate{}));
                    break;
                case 0x88:
                    stack_.push_back(makeScalar(true));
                    break;
                case 0x89:
                    stack_.push_back(makeScalar(false));
                    break;
                case 'K':
                    stack_.push_back(makeScalar(int64_t(readByte())));
                    break;
                case 'M':
                    stack_.push_back(makeScalar(int64_t(readLittle(2))));
                    break;
                case 'J':
                    stack_.push_back(makeScalar(int64_t(int32_t(readLittle(4)))));
                    break;
                case 0x8a:
                    stack_.push_back(readLong1());
                    break;
                case 'G':
                    stack_.push_back(makeScalar(readBigEndianDouble()));
                    break;
                case 'X':
                    stack_.push_back(makeScalar(readBytes(readLittle(4))));
                    break;
                case 'U':
                    stack_.push_back(makeScalar(readBytes(readByte())));
                    break;
                case 'T':
                    stack_.push_back(makeScalar(readBytes(readLittle(4))));
                    break;
                case 'c': {
                    std::string module = readLine();
                    stack_.push_back(makeScalar(Global{module + "." + readLine()}));
                    break;
                }
                case ')':
                    stack_.push_back(makeContainer(PickleValue::Container::Tuple));
                    break;
                case ']':
                    stack_.push_back(makeContainer(PickleValue::Container::List));
                    break;
                case '}':
                    stack_.push_back(makeContainer(PickleValue::Container::Dict));
                    break;
                case 't':
                    stack_.push_back(makeContainer(PickleValue::Container::Tuple, popToMark()));
                    break;
                case 0x85:
                case 0x86:
                case 0x87: {
                    std::vector<ValuePtr> items(op - 0x84);
                    for (size_t i = items.size(); i-- > 0;)
                        items[i] = pop();
                    stack_.push_back(
                        makeContainer(PickleValue::Container::Tuple, std::move(items)));
                    break;
                }
                case 'q':
                    memo_[readByte()] = top();
                    break;
                case 'r':
                    memo_[readLittle(4)] = top();
                    break;
                case 'h':
                    stack_.push_back(memoAt(readByte()));
                    break;
                case 'j':
                    stack_.push_back(memoAt(readLittle(4)));
                    break;
                case 'a': {
                    ValuePtr item = pop();
                    top()->items.push_back(item);
                    break;
                }
                case 'e': {
                    std::vector<ValuePtr> items = popToMark();
                    for (auto& item : items)
                        top()->items.push_back(item);
                    break;
                }
                case 's': {
                    ValuePtr value = pop(), key = pop();
                    top()->items.push_back(key);
                    top()->items.push_back(value);
                    break;
                }
                case 'u': {
                    std::vector<ValuePtr> items = popToMark();
                    for (auto& item : items)
                        top()->items.push_back(item);
                    break;
                }
                case 'Q':
                    stack_.push_back(persistentLoad(pop()));
                    break;
                case 'R': {
                    ValuePtr args = pop(), callable = pop();
                    stack_.push_back(reduce(callable, args));
                    break;
                }
                case 'b':
                    pop();
                    break;  // BUILD: object state (OrderedDict._metadata) is not needed
                default:
                    throw std::runtime_error("legacy .pth: unsupported pickle opcode " +
                                             std::to_string(int(op)));
            }
        }
    }

private:
    unsigned char readByte()
    {
        if (pos_ >= bytes_.size())
            throw std::runtime_error("legacy .pth: truncated pickle");
        return static_cast<unsigned char>(bytes_[pos_++]);
    }
    uint64_t readLittle(int n)
    {
        uint64_t v = 0;
        for (int i = 0; i < n; ++i)
            v |= uint64_t(readByte()) << (8 * i);
        return v;
    }
    /** LONG1; integers wider than 64 bits (only torch.save's magic number) stay raw bytes. */
    ValuePtr readLong1()
    {
        const int n = readByte();
        if (n > 8)
            return makeScalar(readBytes(n));
        uint64_t v = readLittle(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1)
            v |= ~uint64_t(0) << (8 * n);  // sign-extend
        return makeScalar(static_cast<int64_t>(v));
    }
    double readBigEndianDouble()
    {
        uint64_t v = 0;
        for (int i = 0; i < 8; ++i)
            v = (v << 8) | readByte();
        double d;
        std::memcpy(&d, &v, sizeof d);
        return d;
    }
    std::string readBytes(uint64_t n)
    {
        if (pos_ + n > bytes_.size())
            throw std::runtime_error("legacy .pth: truncated pickle");
        std::string s = bytes_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    std::string readLine()
    {
        const size_t end = bytes_.find('\n', pos_);
        if (end == std::string::npos)
            throw std::runtime_error("legacy .pth: truncated pickle");
        std::string s = bytes_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return s;
    }
    ValuePtr pop()
    {
        if (stack_.empty())
            throw std::runtime_error("legacy .pth: pickle stack underflow");
        ValuePtr v = stack_.back();
        stack_.pop_back();
        return v;
    }
    ValuePtr top()
    {
        if (stack_.empty())
            throw std::runtime_error("legacy .pth: pickle stack underflow");
        return stack_.back();
    }
    ValuePtr memoAt(uint64_t index)
    {
        auto it = memo_.find(index);
        if (it == memo_.end())
            throw std::runtime_error("legacy .pth: bad memo reference");
        return it->second;
    }
    std::vector<ValuePtr> popToMark()
    {
        std::vector<ValuePtr> items;
        for (;;) {
            ValuePtr v = pop();
            if (std::holds_alternative<Mark>(v->scalar) &&
                v->container == PickleValue::Container::None)
                break;
            items.push_back(v);
        }
        return {items.rbegin(), items.rend()};
    }
    // ('storage', <storage class>, key, location, numel[, view metadata])
    ValuePtr persistentLoad(const ValuePtr& pid)
    {
        if (pid->items.size() < 3 || asString(pid->items[0]) != "storage")
            throw std::runtime_error("legacy .pth: unsupported persistent id");
        auto* cls = std::get_if<Global>(&pid->items[1]->scalar);
        if (!cls)
            throw std::runtime_error("legacy .pth: storage without a type");
        return makeScalar(StorageRef{asString(pid->items[2]), storageDtype(cls->qualifiedName)});
    }
    ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args)
    {
        auto* fn = std::get_if<Global>(&callable->scalar);
        if (!fn)
            throw std::runtime_error("legacy .pth: call of a non-global");
        if (fn->qualifiedName == "collections.OrderedDict")
            return makeContainer(PickleValue::Container::Dict);
        if (fn->qualifiedName == "torch._utils._rebuild_tensor_v2") {
            if (args->items.size() < 4)
                throw std::runtime_error("legacy .pth: short _rebuild_tensor_v2 call");
            auto* storage = std::get_if<StorageRef>(&args->items[0]->scalar);
            if (!storage)
                throw std::runtime_error("legacy .pth: tensor without storage");
            return makeScalar(TensorRef{*storage, asInt(args->items[1]), asIntTuple(args->items[2]),
                                        asIntTuple(args->items[3])});
        }
        if (fn->qualifiedName == "torch._utils._rebuild_parameter" && !args->items.empty())
            return args->items[0];
        throw std::runtime_error("legacy .pth: unsupported global " + fn->qualifiedName);
    }

    const std::string& bytes_;
    size_t& pos_;
    std::vector<ValuePtr> stack_;
    std::map<uint64_t, ValuePtr> memo_;
};

/** Walks the unpickled object and collects the tensors of the (possibly nested) state dict. */
void collectTensors(const ValuePtr& value, const std::string& prefix,
                    std::vector<std::pair<std::string, TensorRef>>& out)
{
    if (value->container == PickleValue::Container::Dict) {
        for (size_t i = 0; i + 1 < value->items.size(); i += 2) {
            auto* key = std::get_if<std::string>(&value->items[i]->scalar);
            if (key)
                collectTensors(value->items[i + 1], prefix.empty() ? *key : prefix + "." + *key,
                               out);
        }
    } else if (auto* tensor = std::get_if<TensorRef>(&value->scalar)) {
        out.emplace_back(prefix, *tensor);
    }
}

}  // namespace

StateDict readLegacyTorchSave(const std::string& bytes)
{
    if (bytes.size() < 2 || static_cast<unsigned char>(bytes[0]) != 0x80)
        throw std::runtime_error("not a torch.save file (neither a zip archive nor a pickle)");
    size_t pos = 0;
    // torch/serialization.py MAGIC_NUMBER 0x1950a86a20f9469cfc6c, little-endian.
    const std::string magic("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 10);
    const ValuePtr magicValue = PickleMachine(bytes, pos).run();
    const auto* magicBytes = std::get_if<std::string>(&magicValue->scalar);
    if (!magicBytes || *magicBytes != magic)
        throw std::runtime_error("not a torch.save file (no zip header, no legacy magic number)");
    PickleMachine(bytes, pos).run();  // protocol version
    PickleMachine(bytes, pos).run();  // sys info
    const ValuePtr root = PickleMachine(bytes, pos).run();
    const ValuePtr keys = PickleMachine(bytes, pos).run();
    if (root->container != PickleValue::Container::Dict)
        throw std::runtime_error("legacy .pth: the file does not hold a dict");

    std::vector<std::pair<std::string, TensorRef>> tensors;
    collectTensors(root, "", tensors);
    std::map<std::string, torch::ScalarType> storageTypes;
    for (const auto& entry : tensors)
        storageTypes[entry.second.storage.key] = entry.second.storage.dtype;

    // The raw storages follow in the order of the key list.
    std::map<std::string, torch::Tensor> storages;
    for (const auto& keyValue : keys->items) {
        const std::string& key = asString(keyValue);
        auto type = storageTypes.find(key);
        if (type == storageTypes.end())
            throw std::runtime_error("legacy .pth: storage " + key + " is not used by a tensor");
        if (pos + 8 > bytes.size())
            throw std::runtime_error("legacy .pth: truncated storage " + key);
        int64_t numel = 0;
        std::memcpy(&numel, bytes.data() + pos, 8);
        pos += 8;
        const size_t byteCount = size_t(numel) * c10::elementSize(type->second);
        if (numel < 0 || pos + byteCount > bytes.size())
            throw std::runtime_error("legacy .pth: truncated storage " + key);
        torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(type->second));
        std::memcpy(storage.data_ptr(), bytes.data() + pos, byteCount);
        pos += byteCount;
        storages[key] = storage;
    }

    StateDict dict;
    for (const auto& [name, ref] : tensors) {
        auto storage = storages.find(ref.storage.key);
        if (storage == storages.end())
            throw std::runtime_error("legacy .pth: missing storage for " + name);
        dict[name] = storage->second.as_strided(ref.sizes, ref.strides, ref.offset).clone();
    }
    return dict;
}

}  // namespace anomaly_backbone
