package dev.membrane.onnx.reference;

/**
 * The text the reference tokenizer's merges are learned from: prompt vocabulary and the concepts of the reference
 * SPM adapters, so that those concepts get whole-word tokens as they do in CLIP's real vocabulary.
 */
final class ReferenceCorpus {
    private ReferenceCorpus() {
    }

    static final String TEXT = """
            a photo of a cat. a photo of a dog. a painting of a house. a portrait of a woman. a portrait of a man.
            a photograph of a mountain landscape at sunset. a watercolor painting of flowers in a vase.
            an oil painting of the sea. a drawing of a tree. a sketch of a city street at night.
            a cartoon character. a cartoon mouse. a cartoon dog. a cartoon of snoopy. graffiti of the snoopy.
            snoopy snoopy snoopy. mickey mouse mickey mouse mickey mouse. pikachu pikachu pikachu pokemon.
            van gogh van gogh van gogh. in the style of van gogh. starry night by van gogh.
            picasso picasso. a painting by picasso. claude monet. monet monet. rembrandt. salvador dali.
            nudity nudity nudity. nude nude nude. naked naked. nsfw nsfw. explicit. body. people. person.
            a beautiful landscape with trees and a river. a bowl of fruit on a table. a vase of vibrant flowers.
            a red car on the road. a blue sky with clouds. a green forest. a yellow sun. a white horse.
            a black and white photo. high quality, detailed, sharp focus, digital art, concept art, illustration.
            the quick brown fox jumps over the lazy dog. children playing in the park. a castle on a hill.
            an astronaut riding a horse on the moon. a robot in the kitchen. a bird on a branch. fish in the water.
            a boat on the lake. a bridge over the river. a train in the station. a house in the snow.
            """;
}
