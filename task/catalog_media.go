package task

// mediaCapabilities are the built-in capabilities that read or make
// binary data (images, audio), which travels as artifacts.
func mediaCapabilities() []Capability {
	return []Capability{
		{
			Name:        "caption",
			Description: "Describe an image in words: write a caption saying what a photo, picture or drawing shows.",
			Inputs:      []string{TypeImage},
			Outputs:     []string{TypeText},
			Examples: []string{
				"Describe this image", "What is in this picture?", "Write a caption for this photo",
				"What does this photo show?", "描述一下画面内容", "照片拍的是什么", "说说这幅画画了什么", "给这张照片写一句说明",
			},
			Keywords: []string{"describe the image", "describe the picture", "describe the photo", "caption", "what is in the picture", "what does the photo show", "描述画面", "看图说话", "配图说明"},
			Titles:   map[string]string{"en": "Image description", "zh": "画面描述"},
		},
		{
			Name:        "vqa",
			Description: "Answer a question about an image: visual question answering on a photo, chart, screenshot or drawing.",
			Inputs:      []string{TypeImage, TypePrompt},
			Outputs:     []string{TypeText},
			Examples: []string{
				"How many people are in this photo?", "What colour is the car in the picture?", "Is there a dog in this image?", "What is the man in the photo holding?",
				"图片里有几个人？", "照片中的车是什么颜色？", "图中的狗是什么品种？", "照片里的人手里拿着什么？",
			},
			Keywords: []string{"in the picture", "in this photo", "in the image", "visual question", "图片里", "照片中", "图中"},
			Titles:   map[string]string{"en": "Answer about the image", "zh": "图像问答"},
		},
		{
			Name:        "ocr",
			Description: "Read the printed or handwritten text in an image, a photo, a screenshot or a scanned page (optical character recognition).",
			Inputs:      []string{TypeImage},
			Outputs:     []string{TypeText},
			Examples: []string{
				"Read the text in this image", "OCR this screenshot", "What does the sign in this photo say?",
				"Transcribe the handwriting in this scan", "识别图片中的文字", "把这张截图里的文字提取出来", "读出照片上的字", "识别扫描件中的手写字",
			},
			Keywords: []string{"ocr", "text in the image", "read the text", "scanned", "screenshot", "handwriting", "图片文字", "识别文字", "图中文字"},
			Titles:   map[string]string{"en": "Recognized text", "zh": "识别出的文字"},
		},
		{
			Name:        "image-generate",
			Description: "Generate an image from a description: draw, paint or render a picture, illustration or photo of what the text describes.",
			Inputs:      []string{TypePrompt},
			Outputs:     []string{TypeImage},
			Examples: []string{
				"Draw a red fox in the snow", "Generate an image of a lighthouse at dusk", "Make a watercolour of a cat",
				"Create a picture of a futuristic city", "画一只在雪地里的红狐狸", "生成一张海边日落的图片", "画一幅水彩风格的猫", "绘制一座未来城市的插画",
			},
			Keywords: []string{"draw", "illustrate", "illustration", "generate an image", "create a picture", "render", "sketch", "画", "画一", "生成图片", "绘制", "插画"},
			Titles:   map[string]string{"en": "Generated image", "zh": "生成的图像"},
		},
		{
			Name:        "image-edit",
			Description: "Edit an image as told in words: resize, crop, rotate, flip, make grayscale, convert its format, or change what it shows.",
			Inputs:      []string{TypeImage, TypePrompt},
			Outputs:     []string{TypeImage},
			Examples: []string{
				"Make it grayscale and 256 px wide", "Resize this image to 800x600", "Rotate the photo 90 degrees",
				"Crop the picture to a square", "Convert this image to JPEG", "Flip the image horizontally",
				"把图片转成黑白", "把这张图缩小到 256 像素宽", "把照片旋转90度", "把图片裁剪成正方形",
			},
			Keywords: []string{"resize", "crop", "rotate", "flip", "mirror", "grayscale", "greyscale", "black and white", "px", "pixels wide", "convert to png", "convert to jpeg", "edit the image", "缩放", "裁剪", "旋转", "翻转", "黑白", "灰度", "像素"},
			Titles:   map[string]string{"en": "Edited image", "zh": "编辑后的图像"},
		},
		{
			Name:        "imageinfo",
			Description: "Tell the properties of an image file: its format, width and height in pixels, size, colour model, dominant colours and orientation.",
			Inputs:      []string{TypeImage},
			Outputs:     []string{TypeJSON},
			Examples: []string{
				"What size is this image?", "How big is this picture in pixels?", "What are the dimensions of this photo?",
				"What format is this image?", "What are the main colours of this picture?",
				"这张图片多大？", "图片的分辨率是多少？", "这张图是什么格式？", "这张照片的主色调是什么？",
			},
			Keywords: []string{"dimensions", "resolution", "width and height", "how big is this image", "what size is this image", "image size", "image format", "dominant colours", "dominant colors", "分辨率", "尺寸", "图片大小", "图片格式"},
			Titles:   map[string]string{"en": "Image properties", "zh": "图像信息"},
		},
		{
			Name:        "asr",
			Description: "Transcribe speech in an audio recording into text: speech recognition of a voice memo, call, podcast or song.",
			Inputs:      []string{TypeAudio},
			Outputs:     []string{TypeText},
			Examples: []string{
				"Transcribe this recording", "What is said in this audio?", "Write down what the speaker says",
				"Turn this voice memo into text", "把这段录音转成文字", "这段音频说了什么？", "听写这段语音留言", "给这段播客做个文字稿",
			},
			Keywords: []string{"transcribe", "transcription", "speech to text", "speech recognition", "recording", "voice memo", "录音", "转文字", "语音识别", "听写"},
			Titles:   map[string]string{"en": "Transcript", "zh": "转写"},
		},
		{
			Name:        "tts",
			Description: "Speak a text aloud: convert text to speech and produce an audio file with a natural voice.",
			Inputs:      []string{TypeText},
			Outputs:     []string{TypeAudio},
			Examples: []string{
				"Read this aloud", "Convert this text to speech", "Make an audio version of this paragraph",
				"Say it out loud", "把这段文字转成语音", "朗读这篇文章", "把摘要念出来", "给这段话配音",
			},
			Keywords: []string{"read aloud", "aloud", "out loud", "text to speech", "tts", "narrate", "spoken", "朗读", "念出来", "读出来", "配音"},
			Titles:   map[string]string{"en": "Speech", "zh": "语音"},
		},
		{
			Name:        "audioinfo",
			Description: "Tell the properties of an audio file: its duration, sample rate, channels and loudness.",
			Inputs:      []string{TypeAudio},
			Outputs:     []string{TypeJSON},
			Examples: []string{
				"How long is this recording?", "What is the sample rate of this audio?", "How loud is this audio file?", "How many channels does this recording have?",
				"这段录音有多长？", "这个音频的采样率是多少？", "这段音频有几个声道？", "这段录音的响度是多少？",
			},
			Keywords: []string{"duration", "sample rate", "sampling rate", "channels", "loudness", "how long is this recording", "audio length", "时长", "采样率", "声道", "响度"},
			Titles:   map[string]string{"en": "Audio properties", "zh": "音频信息"},
		},
	}
}
