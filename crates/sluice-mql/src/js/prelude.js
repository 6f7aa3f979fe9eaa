// What every runtime has before the pipeline's functions: the BSON classes that values without
// a JavaScript equivalent convert to (each tagged with `_bsontype`, which the conversion back
// reads), and the helpers mongod's JavaScript offers (`Array.sum`, `isNumber`, ...).
// `hex_md5` and `__newObjectIdHex` are native, installed before this runs.
(function (g) {
    "use strict";
    function tag(C, name) {
        Object.defineProperty(C.prototype, "_bsontype", { value: name });
        Object.defineProperty(g, C.name, { value: C, writable: true, configurable: true });
    }
    function ObjectId(hex) {
        if (!(this instanceof ObjectId)) return new ObjectId(hex);
        var s = hex === undefined ? __newObjectIdHex() : String(hex);
        if (!/^[0-9a-fA-F]{24}$/.test(s)) throw new TypeError("invalid ObjectId: " + s);
        this.str = s.toLowerCase();
    }
    ObjectId.prototype.toString = function () { return 'ObjectId("' + this.str + '")'; };
    ObjectId.prototype.toHexString = function () { return this.str; };
    ObjectId.prototype.valueOf = function () { return this.str; };
    ObjectId.prototype.equals = function (o) { return o instanceof ObjectId && o.str === this.str; };
    ObjectId.prototype.getTimestamp = function () { return new Date(parseInt(this.str.slice(0, 8), 16) * 1000); };
    tag(ObjectId, "ObjectId");

    function NumberLong(v) {
        if (!(this instanceof NumberLong)) return new NumberLong(v);
        this.str = BigInt(v === undefined ? 0 : v).toString();
    }
    NumberLong.prototype.toString = function () { return this.str; };
    NumberLong.prototype.valueOf = function () { return Number(this.str); };
    tag(NumberLong, "Long");

    function NumberDecimal(v) {
        if (!(this instanceof NumberDecimal)) return new NumberDecimal(v);
        this.str = String(v === undefined ? 0 : v);
    }
    NumberDecimal.prototype.toString = function () { return this.str; };
    NumberDecimal.prototype.valueOf = function () { return Number(this.str); };
    tag(NumberDecimal, "Decimal128");

    function Timestamp(t, i) {
        if (!(this instanceof Timestamp)) return new Timestamp(t, i);
        this.t = t >>> 0;
        this.i = i >>> 0;
    }
    Timestamp.prototype.toString = function () { return "Timestamp(" + this.t + ", " + this.i + ")"; };
    tag(Timestamp, "Timestamp");

    function BinData(subtype, base64) {
        if (!(this instanceof BinData)) return new BinData(subtype, base64);
        this.subtype = subtype & 0xff;
        this.base64 = String(base64);
    }
    BinData.prototype.toString = function () { return 'BinData(' + this.subtype + ', "' + this.base64 + '")'; };
    tag(BinData, "Binary");

    function BSONRegExp(pattern, options) {
        if (!(this instanceof BSONRegExp)) return new BSONRegExp(pattern, options);
        this.pattern = String(pattern);
        this.options = String(options === undefined ? "" : options);
    }
    BSONRegExp.prototype.toString = function () { return "/" + this.pattern + "/" + this.options; };
    tag(BSONRegExp, "BSONRegExp");

    function MinKey() { if (!(this instanceof MinKey)) return new MinKey(); }
    tag(MinKey, "MinKey");
    function MaxKey() { if (!(this instanceof MaxKey)) return new MaxKey(); }
    tag(MaxKey, "MaxKey");

    // mongod's helpers, with its definitions.
    Array.sum = function (arr) {
        if (arr.length === 0) return null;
        var s = arr[0];
        for (var i = 1; i < arr.length; i++) s += arr[i];
        return s;
    };
    Array.avg = function (arr) {
        if (arr.length === 0) return null;
        return Array.sum(arr) / arr.length;
    };
    Array.contains = function (arr, x) {
        for (var i = 0; i < arr.length; i++) if (arr[i] == x) return true;
        return false;
    };
    Array.unique = function (arr) {
        var u = [];
        for (var i = 0; i < arr.length; i++) if (!Array.contains(u, arr[i])) u.push(arr[i]);
        return u;
    };
    Array.stdDev = function (arr) {
        var avg = Array.avg(arr), sum = 0;
        for (var i = 0; i < arr.length; i++) sum += Math.pow(arr[i] - avg, 2);
        return Math.sqrt(sum / arr.length);
    };
    g.isNumber = function (x) { return typeof x === "number"; };
    g.isString = function (x) { return typeof x === "string"; };
    g.isObject = function (x) { return typeof x === "object"; };
})(globalThis);
