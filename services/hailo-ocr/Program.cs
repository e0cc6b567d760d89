return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoOcr.OcrService.Definition);
